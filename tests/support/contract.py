"""The gateway's own contract for schemathesis: the document `/openapi.json` serves, the
checks every response is held to, and the demo tenant's roles.

Every response must:
- never be a 5xx (`not_a_server_error`);
- have a status the document lists for the operation (`status_code_conformance`), and
  a 405 for a method it does not list (`unsupported_method`);
- have a documented content type (`content_type_conformance`), documented headers
  (`response_headers_conformance`) and a body matching the documented schema
  (`response_schema_conformance`): Auth0's own response schemas for successes, `Problem`
  for errors;
- reject input the document says is invalid with a 4xx (`negative_data_rejection`);
- refuse the request without, or with a made-up, bearer token (`ignored_auth`);
- for every error, be RFC 9457 problem details (`problem_details`, below): the
  `application/problem+json` content type, `status` equal to the HTTP status, and the
  `request_id` of the `X-Request-ID` header (except /readyz's documented 503, the
  probes' report).

Not checked, and why: `positive_data_acceptance` (input valid by the document must be
accepted). The gateway deliberately validates more narrowly than JSON Schema can say
(user ids as `provider|id`, role ids `rol_...`, known user fields in `fields` and
`sort`, paging within Auth0's first 1000 results, the Lucene subset of `q`, search engine
v3 only, audit times as ISO-8601 or epoch); those inputs get a documented 400 problem,
which every check above still holds to the contract.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app.api.openapi import build_document

ROLES = {"reader": "alice", "editor": "bob", "admin": "carol"}

# What the gateway serves at /openapi.json (tests compare it with the live document).
DOCUMENT = build_document()


def load_contract() -> Any:
    """A schemathesis schema of DOCUMENT (a new one per caller: hooks are per schema)."""
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    # gunicorn's own refusals of a too long request line or too large headers (414, 431,
    # documented on every path) reject invalid input too.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "414", "431"]
    return schema


def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error is RFC 9457 problem details with the request's id (README, "Errors")."""
    if response.status_code < 400:
        return None
    if case.path == "/readyz" and response.status_code == 503:
        return None  # the probes' report, as documented (load balancers read it)
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.split(";")[0].strip() == "application/problem+json", (
        f"{response.status_code} with Content-Type {content_type!r}, not problem+json")
    body = response.json()
    assert isinstance(body, dict), f"problem body is not an object: {body!r}"
    for name in ("type", "title", "detail"):
        assert isinstance(body.get(name), str), f"problem without a string {name!r}: {body}"
    assert body.get("status") == response.status_code, (
        f"problem status {body.get('status')!r} on a {response.status_code} response")
    request_id = response.headers.get("x-request-id", [None])[0]
    assert request_id and body.get("request_id") == request_id, (
        f"problem request_id {body.get('request_id')!r}, X-Request-ID {request_id!r}")
    return True


CHECKS = [not_a_server_error, status_code_conformance, unsupported_method,
          content_type_conformance, response_headers_conformance, response_schema_conformance,
          negative_data_rejection, ignored_auth, problem_details]
