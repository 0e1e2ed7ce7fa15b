"""Validate recorded Management API requests/responses against Auth0's OpenAPI document."""

from __future__ import annotations

import json
import warnings
from functools import cache
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from app.catalog import SPEC_FILE

HOST = "https://tenant.auth0.com"


@cache
def auth0_api() -> OpenAPI:
    # tests/test_docs.py proves SPEC_FILE is derived unchanged from Auth0's document.
    spec = json.loads(SPEC_FILE.read_text())
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def _mock_request(entry: Any) -> MockRequest:
    path = entry.raw_path.split("?", 1)[0]
    args = {name: values[0] for name, values in entry.query.items()}
    data = json.dumps(entry.json) if entry.json is not None else None
    return MockRequest(HOST, entry.method.lower(), path, args=args, data=data,
                       headers={"Authorization": "Bearer x"},
                       content_type="application/json")


def validate_recorded(entry: Any) -> None:
    """Raise if a request the gateway sent (or the answer it got) breaks Auth0's contract."""
    request = _mock_request(entry)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # bearer scheme unsupported by openapi-core
        auth0_api().validate_request(request)
        if entry.status < 400 and entry.response_json is not None:
            response = MockResponse(json.dumps(entry.response_json).encode(),
                                    status_code=entry.status, content_type="application/json")
            auth0_api().validate_response(request, response)
