"""Validate recorded Management API requests against Auth0's official document (vendored).

The gateway's own subset (tests/support/spec.py) covers only the catalog's
operations; provisioning calls other endpoints. This builds, once per run, a
self-contained subset of the official document holding the operations asked
for and every component they reference, and validates with openapi-core.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from scripts import auth0_document
from scripts.extract_auth0_spec import referenced_components

HOST = "https://tenant.auth0.com"


@cache
def _document() -> dict[str, Any]:
    return auth0_document.load()


@cache
def official_api(paths: tuple[str, ...]) -> OpenAPI:
    document = _document()
    subset: dict[str, Any] = {k: v for k, v in document.items() if k not in ("paths",
                                                                             "components")}
    subset["paths"] = {p: document["paths"][p] for p in paths}
    subset["components"] = {**referenced_components(document, subset["paths"]),
                            "securitySchemes": document["components"]["securitySchemes"]}
    return OpenAPI.from_dict(subset, config=Config(spec_validator_cls=None))


def validate_official(entry: Any, paths: tuple[str, ...]) -> None:
    """Raise if a recorded request (or its 2xx answer) breaks Auth0's official contract."""
    api = official_api(paths)
    path = entry.raw_path.split("?", 1)[0]
    args = {name: values[0] for name, values in entry.query.items()}
    data = json.dumps(entry.json) if entry.json is not None else None
    request = MockRequest(HOST, entry.method.lower(), path, args=args, data=data,
                          headers={"Authorization": "Bearer x"},
                          content_type="application/json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        api.validate_request(request)
        if entry.status < 400 and entry.response_json is not None:
            response = MockResponse(json.dumps(entry.response_json).encode(),
                                    status_code=entry.status, content_type="application/json")
            api.validate_response(request, response)
