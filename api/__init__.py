"""The ways into BeatGrid: the ``beatgrid`` command line and the FastAPI service."""
