"""digitcli: train, evaluate and use neural networks that read handwritten digits."""

__version__ = "0.1.0"
