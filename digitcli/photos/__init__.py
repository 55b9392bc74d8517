"""Photos and scans: cleaning, segmentation into digits, and MNIST-style preparation.

Nothing is imported here, so `digitcli --help` stays light."""
