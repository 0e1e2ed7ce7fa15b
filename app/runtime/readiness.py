"""/readyz: can this process serve traffic right now?

Runs the probes `init_app` is given (and any added with `register_probe(app,
name, probe)`) concurrently under one deadline and answers 200 "ready" or 503
"not ready" with every probe's result; /healthz (liveness) checks nothing.

Design: docs/runtime.md, "Health and readiness".
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from flask import Flask, Response, current_app, jsonify

from .blueprint import bp
from .probes import Probe, ProbeResult

EXTENSION = "admin_gateway.readiness"
DEADLINE_SECONDS = 2.0


def register_probe(app: Flask, name: str, probe: Probe) -> None:
    """Add a readiness probe; it runs inside an app context of `app`."""
    probes: dict[str, Probe] = app.extensions.setdefault(EXTENSION, {})
    if name in probes:
        raise ValueError(f"readiness probe {name!r} is registered twice")
    probes[name] = probe


def registered_probes(app: Flask) -> dict[str, Probe]:
    probes: dict[str, Probe] = app.extensions.get(EXTENSION, {})
    return dict(probes)


def _run_one(app: Flask, probe: Probe) -> ProbeResult:
    with app.app_context():
        try:
            return probe()
        except Exception as exc:  # a probe that crashes is a failed probe, not a 500
            return ProbeResult(False, f"probe raised {type(exc).__name__}")


def run_probes(app: Flask, deadline: float = DEADLINE_SECONDS) -> dict[str, ProbeResult]:
    probes = registered_probes(app)
    if not probes:
        return {}
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(_run_one, app, probe) for name, probe in probes.items()}
        wait(futures.values(), timeout=deadline, return_when=FIRST_EXCEPTION)
        return {
            name: future.result() if future.done()
            else ProbeResult(False, f"no answer within {deadline:g}s")
            for name, future in futures.items()
        }
    finally:
        # A hung probe must not hold the response: leave its thread behind.
        pool.shutdown(wait=False, cancel_futures=True)


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    results = run_probes(current_app._get_current_object())  # type: ignore[attr-defined]
    ready = all(result.ok for result in results.values())
    checks: dict[str, Any] = {
        name: {"ok": result.ok, "detail": result.detail} for name, result in results.items()
    }
    body = jsonify(status="ready" if ready else "not ready", checks=checks)
    return body, 200 if ready else 503


def init_app(app: Flask, probes: Mapping[str, Probe]) -> None:
    for name, probe in probes.items():
        register_probe(app, name, probe)
