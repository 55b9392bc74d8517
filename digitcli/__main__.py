from digitcli.cli import cli

cli(prog_name="digitcli")
