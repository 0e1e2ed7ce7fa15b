"""Typed access to what the factory put on the current app."""

from __future__ import annotations

from flask import current_app

from config.settings import Settings


def settings() -> Settings:
    value = current_app.config["SETTINGS"]
    assert isinstance(value, Settings)
    return value
