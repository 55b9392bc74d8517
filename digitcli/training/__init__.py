"""Training: the run in order (run.py), its staging folder, stop signals, callbacks, history and distribution.

Nothing is imported here, so `digitcli --help` stays light."""
