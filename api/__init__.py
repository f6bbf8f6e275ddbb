"""Composition root: settings, the Starlette app, authentication, the CLI."""

__version__ = "0.1.0"
