"""`admin-gateway demo` starts everything and its printed curl lines work as printed."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator

import pytest
import requests

from tests.support.demo import demo_banner


@pytest.fixture
def demo() -> Iterator[str]:
    yield from demo_banner({k: v for k, v in os.environ.items() if k != "REDIS_URL"})


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


def test_demo_prints_working_curl_commands(demo: str) -> None:
    assert "admin-gateway demo is running" in demo, demo
    env = dict(re.findall(r"export (\w+)='([^']+)'", demo))
    assert set(env) == {"READER", "EDITOR"}
    curls = [line.strip() for line in demo.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == 6
    statuses = [_curl(line, env).status_code for line in curls]
    # me, search, get, forbidden write (role A); rename, block (role B)
    assert statuses == [200, 200, 200, 403, 200, 200], statuses
