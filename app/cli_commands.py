"""Imports the modules whose `@command`s extend the `admin-gateway` CLI."""
