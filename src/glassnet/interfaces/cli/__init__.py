"""The ``glassnet`` command. Each subcommand lives in its own module with ``register(subparsers)``."""

from glassnet.interfaces.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
