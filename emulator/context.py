"""Access to the tenant a request is served for."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app

from emulator.tenant import Tenant

EXTENSION_KEY = "emulator.tenant"


def bind(app: Flask, tenant: Tenant) -> None:
    app.extensions[EXTENSION_KEY] = tenant


def tenant() -> Tenant:
    return cast(Tenant, current_app.extensions[EXTENSION_KEY])
