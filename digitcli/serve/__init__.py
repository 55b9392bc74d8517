"""`digitcli serve`: a page to draw digits on and an HTTP API, on Starlette and uvicorn.

Nothing is imported here, so `digitcli --help` stays light."""
