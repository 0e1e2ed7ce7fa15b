"""`admin-gateway demo` starts everything and its printed curl lines work as printed; the
gateway runs under gunicorn as in production, and stops with the demo."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator

import pytest
import requests

from tests.support.demo import DemoRun, descendants, run_demo


def _without_redis_server(path: str) -> str:
    return os.pathsep.join(d for d in path.split(os.pathsep)
                           if d and not os.path.exists(os.path.join(d, "redis-server")))


@pytest.fixture(params=["redis-server", "fake-redis"])
def demo(request: pytest.FixtureRequest) -> Iterator[DemoRun]:
    """The demo as `make demo` runs it: with a private redis-server where one is installed,
    and, as on a fresh machine without Redis, with the embedded fake Redis (TcpFakeServer),
    which the gunicorn workers reach over TCP."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    if request.param == "fake-redis":
        env["PATH"] = _without_redis_server(env.get("PATH", ""))
    for run in run_demo(env):
        if request.param == "fake-redis":
            assert "redis     an embedded fake Redis" in run.banner, run.banner
        yield run


def _curl(line: str, env: dict[str, str]) -> requests.Response:
    """Run one printed `curl -s ...` line with requests, expanding $READER/$EDITOR."""
    words = shlex.split(re.sub(r"\$(\w+)", lambda m: env[m.group(1)], line))
    assert words[:2] == ["curl", "-s"]
    method, headers, data, url = "GET", {}, None, ""
    i = 2
    while i < len(words):
        if words[i] == "-X":
            method, i = words[i + 1], i + 2
        elif words[i] == "-H":
            name, _, value = words[i + 1].partition(": ")
            headers[name], i = value, i + 2
        elif words[i] == "-d":
            data, i = words[i + 1], i + 2
        else:
            url, i = words[i], i + 1
    return requests.request(method, url, headers=headers, data=data, timeout=30)


def test_demo_prints_working_curl_commands(demo: DemoRun) -> None:
    banner = demo.banner
    assert "admin-gateway demo is running" in banner, banner
    # The third path (README, "Connect your Auth0 tenant") ran against the demo tenant.
    assert "`admin-gateway tenant check`: no drift from the plan" in banner, banner
    env = dict(re.findall(r"export (\w+)='([^']+)'", banner))
    assert set(env) == {"READER", "EDITOR"}
    curls = [line.strip() for line in banner.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == 6
    statuses = [_curl(line, env).status_code for line in curls]
    # me, search, get, forbidden write (role A); rename, block (role B)
    assert statuses == [200, 200, 200, 403, 200, 200], statuses


def test_demo_serves_the_gateway_with_gunicorn_and_stops_it(demo: DemoRun) -> None:
    banner = demo.banner
    gateway = re.search(r"^  gateway   (http://127\.0\.0\.1:\d+) ", banner, re.M)
    assert gateway, banner
    # What `curl -sI` shows: gunicorn's own Server header (it sends no version).
    head = requests.head(gateway.group(1) + "/healthz", timeout=5)
    assert head.status_code == 200
    assert head.headers["Server"] == "gunicorn"

    if not os.path.isdir("/proc"):
        pytest.skip("finding the demo's processes needs Linux /proc")
    processes = descendants(demo.proc.pid)
    gunicorns = [p for p in processes if "-m gunicorn -c" in p.cmdline
                 and p.cmdline.endswith("config/gunicorn.conf.py wsgi:app")]
    # One master started by the demo, and its workers (WEB_CONCURRENCY, 2 by default).
    masters = [p for p in gunicorns if p.ppid == demo.proc.pid]
    assert len(masters) == 1, processes
    assert [p for p in gunicorns if p.ppid == masters[0].pid], processes

    assert demo.stop() == 0
    left = [p for p in processes if p.running()]
    assert left == [], f"still running after the demo stopped: {left}"
