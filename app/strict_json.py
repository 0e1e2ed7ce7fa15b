"""Request bodies are parsed strictly: what Auth0 (and `requests`) cannot take is a 400.

Python's json accepts NaN, Infinity and -Infinity, and turns 1e999 into inf;
none of them is JSON (RFC 8259 §6) and `requests` refuses to send them, which
would surface as a 500 after a token was minted. Deeply nested arrays make the
parser recurse until RecursionError, again a 500. A `\ud800` escape without its
pair decodes to a lone surrogate that no UTF-8 encoder (nor Auth0) accepts. All
become ValueError here, which Flask answers with 400 before any view runs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large for JSON")
    return value


class StrictJSONProvider(DefaultJSONProvider):
    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_constant", _no_constant)
        kwargs.setdefault("parse_float", _finite_float)
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        _refuse_lone_surrogates(value)
        return value


def _refuse_lone_surrogates(value: Any) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            texts = [item]
        elif isinstance(item, dict):
            texts = list(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            texts = []
            pending.extend(item)
        else:
            continue
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("a \\u escape names half of a surrogate pair") from None
