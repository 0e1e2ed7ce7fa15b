"""Catch secrets in log output: know every secret a test handled, capture every
line the gateway logged, and look for any fragment of one in the other.

    watch = SecretWatch()
    watch.watch_tenant(emulator.tenant)       # every token it signs, every client secret
    watch.add_settings(settings)              # TOKEN_CACHE_KEY, tier client secrets
    with capture_gateway_logs() as logs:      # what the gateway's log handler writes
        ...                                   # requests, errors, crashes
    watch.assert_absent_from(logs.getvalue())

For a suite-wide check, a session-scoped autouse fixture can keep one
`SecretWatch`, call `watch_tenant` on each emulator tenant the fixtures create
and `assert_absent_from` on everything `capture_gateway_logs` collected (a
`tee=True` capture still writes to stderr, so pytest's own capture is intact).

A JWT is matched by its signature segment (the part a forger lacks); other
secrets by their whole value and by any 16-character slice of it, so a
truncated or partly masked value is caught too.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from app.observability import configure_logging
from config.settings import Settings

FRAGMENT = 16


class _Tee(io.TextIOBase):
    def __init__(self, capture: io.StringIO, passthrough: TextIO | None) -> None:
        self._capture = capture
        self._passthrough = passthrough
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._capture.write(text)
        if self._passthrough is not None:
            self._passthrough.write(text)
        return len(text)

    def flush(self) -> None:
        if self._passthrough is not None:
            self._passthrough.flush()


@contextlib.contextmanager
def capture_gateway_logs(tee: bool = False) -> Iterator[io.StringIO]:
    """Everything the gateway's root log handler writes, formatted exactly as in production.

    Also collects records of loggers that do not propagate to the root (gunicorn's
    live in their own processes: read their stderr instead).
    """
    root = logging.getLogger()
    handlers = [h for h in root.handlers if getattr(h, "_admin_gateway", False)]
    if not handlers:
        # Before any app exists (a session fixture): install the handler the apps
        # will reuse; create_app then only sets its level and format.
        configure_logging("INFO", "json")
        handlers = [h for h in root.handlers if getattr(h, "_admin_gateway", False)]
    capture = io.StringIO()
    previous: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in handlers:
        assert isinstance(handler, logging.StreamHandler)
        previous.append((handler, handler.setStream(_Tee(capture, handler.stream if tee
                                                          else None))))
    try:
        yield capture
    finally:
        for handler, stream in previous:
            handler.setStream(stream)


class SecretWatch:
    """Named secret values; `leaks(text)` says which of them appear in `text`."""

    def __init__(self) -> None:
        self._secrets: dict[str, tuple[str, bool]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, value: str, *, sliced: bool = True) -> None:
        if len(value) >= 8:
            with self._lock:
                self._secrets.setdefault(value, (name, sliced))

    def add_token(self, name: str, token: str) -> None:
        # A JWT's header and payload are public (and alike across tokens): only the
        # signature is matched piecewise, the whole token as a whole.
        parts = token.split(".")
        if len(parts) == 3 and parts[2]:
            self.add(f"{name} (signature)", parts[2])
        self.add(name, token, sliced=False)

    def add_settings(self, settings: Settings) -> None:
        self.add("TOKEN_CACHE_KEY", settings.token_cache_key.reveal())
        for tier in settings.tiers:
            self.add(f"client secret of tier {tier.name}", tier.client_secret.reveal())

    def watch_tenant(self, tenant: Any) -> None:
        """Record every client secret now, and every token the tenant signs from now on."""
        for client_id, client in tenant.clients.items():
            self.add(f"client secret of {client_id}", client.client_secret)
        original = tenant.sign
        if getattr(original, "_secret_watch", None) is self:
            return

        def sign(*args: Any, **kwargs: Any) -> str:
            token: str = original(*args, **kwargs)
            self.add_token("a token signed by the emulator", token)
            return token

        sign._secret_watch = self  # type: ignore[attr-defined]
        tenant.sign = sign

    def leaks(self, text: str) -> list[str]:
        """The names of the secrets of which `text` holds the whole value or (when sliced)
        any FRAGMENT-character slice.

        One pass over the text, not one search per slice (a suite-wide run holds thousands
        of tokens and tens of megabytes of logs): the text is cut into runs of the
        characters secrets are made of, each distinct run is scanned once, window by
        window, against an index of every slice."""
        with self._lock:
            secrets = dict(self._secrets)
        if not secrets:
            return []
        slices: dict[str, str] = {}  # FRAGMENT-long piece -> secret name
        whole: dict[str, list[tuple[str, str]]] = {}  # first piece -> (value, name)
        short: dict[str, str] = {}  # values shorter than a slice: searched whole
        for value, (name, sliced) in secrets.items():
            if len(value) < FRAGMENT:
                short[value] = name
                continue
            whole.setdefault(value[:FRAGMENT], []).append((value, name))
            if sliced:
                for i in range(len(value) - FRAGMENT + 1):
                    slices.setdefault(value[i:i + FRAGMENT], name)
        alphabet = "".join(sorted(set("".join(secrets))))
        runs = set(re.findall(f"[{re.escape(alphabet)}]{{8,}}", text))
        found = {name for value, name in short.items() if value in text}
        for run in runs:
            if len(run) < FRAGMENT:
                continue
            for start in range(len(run) - FRAGMENT + 1):
                piece = run[start:start + FRAGMENT]
                name = slices.get(piece)
                if name is not None:
                    found.add(name)
                for value, owner in whole.get(piece, ()):
                    if run.startswith(value, start):
                        found.add(owner)
        return sorted(found)

    def assert_absent_from(self, text: str, where: str = "the logs") -> None:
        leaked = self.leaks(text)
        # Names only: the failure message must not print the secret either.
        assert not leaked, f"secrets found in {where}: {', '.join(leaked)}"

    def __len__(self) -> int:
        return len(self._secrets)
