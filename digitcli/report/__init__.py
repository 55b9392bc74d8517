"""What users read: metrics, plots and tables.

Nothing is imported here, so `digitcli --help` stays light."""
