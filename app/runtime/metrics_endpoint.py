"""/metrics in the Prometheus text format, across all gunicorn workers.

Sums every worker's samples from PROMETHEUS_MULTIPROC_DIR when it is set, else
serves the default registry; METRICS_ENABLED=false answers 404. Unauthenticated:
keep it off the public listener.

Design: docs/runtime.md, "Metrics".
"""

from __future__ import annotations

import os

from flask import Response, abort
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from .. import state
from .blueprint import bp

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


@bp.get("/metrics")
def metrics() -> Response:
    if not state.settings().metrics_enabled:
        abort(404)
    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
