"""The HTTP API (FastAPI): thin routes over ``router`` functions."""
