"""The gateway under real gunicorn: metrics summed across workers, JSON logs,
graceful shutdown."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from tests.support.processes import Gunicorn


def _request_count(metrics: str, operation: str, status: str) -> float:
    for line in metrics.splitlines():
        if (line.startswith("agw_requests_total{") and f'operation="{operation}"' in line
                and f'status="{status}"' in line):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_sum_every_worker(start_gunicorn: Callable[..., Gunicorn], emulator: Any
                                  ) -> None:
    server = start_gunicorn(workers=2)
    token = emulator.tenant.issue_user_token("alice")
    sent = 0
    pids: set[int] = set()
    # A fresh connection per request lets the kernel hand them to either worker;
    # go on until the access log shows both workers served some (bounded).
    for _ in range(400):
        response = requests.get(server.url + "/gateway/me", timeout=5, headers={
            "Authorization": f"Bearer {token}", "Connection": "close"})
        assert response.status_code == 200
        sent += 1
        if sent % 20 == 0:
            pids = {e["pid"] for e in server.json_lines()
                    if e.get("logger") == "admin_gateway.access" and e.get("path") == "/gateway/me"}
            if len(pids) >= 2:
                break
    assert len(pids) >= 2, "every request went to one worker; cannot test summing"

    # Each scrape lands on some worker; every one must report the whole instance.
    for _ in range(6):
        metrics = requests.get(server.url + "/metrics", timeout=5,
                               headers={"Connection": "close"}).text
        assert _request_count(metrics, "/gateway/me", "200") == sent


def test_logs_are_json_with_request_context(start_gunicorn: Callable[..., Gunicorn],
                                            emulator: Any) -> None:
    server = start_gunicorn(workers=1)
    token = emulator.tenant.issue_user_token("alice")
    request_id = f"test-{uuid.uuid4().hex}"
    requests.get(server.url + "/gateway/me?access_token=sneaky", timeout=5, headers={
        "Authorization": f"Bearer {token}", "X-Request-ID": request_id})
    entry = server.access_entry(request_id)
    assert entry["status"] == 200 and entry["method"] == "GET" and entry["path"] == "/gateway/me"
    assert entry["subject"] == emulator.tenant.user_id("alice")
    assert isinstance(entry["duration_ms"], float)
    assert entry["remote_addr"] == "127.0.0.1" and entry["scheme"] == "http"
    server.stop()
    text = server.log_text()
    # Every line gunicorn and the app wrote is JSON, gunicorn's own included.
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines and len(server.json_lines()) == len(lines)
    assert any(e["logger"] == "gunicorn.error" for e in server.json_lines())
    assert "sneaky" not in text


def test_gunicorn_access_log_is_json_when_enabled(start_gunicorn: Callable[..., Gunicorn]
                                                  ) -> None:
    server = start_gunicorn(workers=1, GUNICORN_ACCESS_LOG="-")
    request_id = f"test-{uuid.uuid4().hex}"
    requests.get(server.url + "/healthz?token=abc", timeout=5, headers={"X-Request-ID": request_id})
    server.stop()
    entries = [e for e in server.json_lines() if e["logger"] == "gunicorn.access"]
    entry = next(e for e in entries if e.get("request_id") == request_id)
    assert entry["path"] == "/healthz" and entry["status"] == 200
    assert entry["remote_addr"] == "127.0.0.1" and entry["bytes"] > 0
    assert "token=abc" not in server.log_text()


def test_sigterm_lets_in_flight_requests_finish(start_gunicorn: Callable[..., Gunicorn],
                                                emulator: Any) -> None:
    server = start_gunicorn(workers=1)
    token = emulator.tenant.issue_user_token("alice")
    user = emulator.tenant.user_id("dave")
    path = "/api/v2/users/" + user.replace("|", "%7C")
    assert requests.get(server.url + path, timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 200
    emulator.tenant.faults.latency(1.5)
    try:
        result: dict[str, Any] = {}

        def slow_call() -> None:
            result["response"] = requests.get(server.url + path, timeout=10,
                                              headers={"Authorization": f"Bearer {token}"})

        caller = threading.Thread(target=slow_call)
        caller.start()
        time.sleep(0.5)  # the request is now waiting on the slow upstream
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        caller.join(timeout=10)
        assert result["response"].status_code == 200
        assert server.proc.wait(timeout=10) == 0
    finally:
        emulator.tenant.faults.clear()


def test_what_gunicorn_refuses_is_problem_json(start_gunicorn: Callable[..., Gunicorn]) -> None:
    # Found by schemathesis against the demo: an over-long query string got gunicorn's
    # HTML 414 page. Its refusals are now problem+json, as the document says.
    from app.api.openapi import build_document

    server = start_gunicorn(workers=1)
    documented = build_document()["paths"]["/api/v2/users"]["get"]["responses"]
    refused = {
        414: requests.get(server.url + "/api/v2/users?q=" + "a" * 5000, timeout=5),
        431: requests.get(server.url + "/api/v2/users", timeout=5,
                          headers={"X-Padding": "a" * 9000}),
    }
    for status, response in refused.items():
        assert response.status_code == status
        assert str(status) in documented
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        body = response.json()
        assert body["status"] == status and body["type"] == "about:blank"
        assert body["request_id"] == response.headers["X-Request-ID"]
        assert "aaaa" not in body["detail"]  # nothing the client sent is echoed
