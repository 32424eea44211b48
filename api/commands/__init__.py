"""Subcommands of ``beatgrid``: one module per capability, each with ``register(sub)``."""
