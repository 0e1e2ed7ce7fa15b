"""/metrics in the Prometheus text format, across all gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (config/gunicorn.conf.py sets it up),
prometheus-client keeps every worker's samples in mmap'd files there and a
fresh `MultiProcessCollector` sums them at scrape time, so a scrape that lands
on any worker sees the whole instance. Without it (one process: the demo, the
tests) the default registry is served. METRICS_ENABLED=false answers 404.

The endpoint is unauthenticated, like every Prometheus target; keep it off the
public listener at the reverse proxy (docs/runtime.md).
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
