"""One module per group of commands; cli.py puts them together."""
