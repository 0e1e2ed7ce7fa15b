"""`admin-gateway tokens status|flush`: inspect and drop the shared Management token cache.

Runs as its own process, so it sees Redis (L2) only: each gateway worker's
in-memory copy (L1) stays until its renewal time, or until Auth0 answers 401
to it (the facade then drops it and mints once more).
"""

from __future__ import annotations

import argparse
import sys

import redis

from app.commands import Command, load_or_explain
from app.redis_conn import connect

from .broker import TokenBroker


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("status", "flush"),
                        help="status: where each tier's token is cached and for how long; "
                             "flush: drop every cached Management token from Redis")


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s"


def tokens(args: argparse.Namespace) -> int:
    settings = load_or_explain()
    if settings is None:
        return 2
    client = connect(settings)
    try:
        client.ping()
    except redis.RedisError as exc:
        print(f"admin-gateway tokens: Redis does not answer ({type(exc).__name__}); check "
              "REDIS_URL", file=sys.stderr)
        return 1
    broker = TokenBroker(settings, client)
    if args.action == "flush":
        dropped = broker.flush()
        print(f"dropped {dropped} cached Management token(s) from Redis; running workers keep "
              "their in-memory copy until renewal or until Auth0 refuses it")
        return 0
    rows = [("tier", "cached", "expires in", "renews in", "scopes")]
    for status in broker.status():
        rows.append((status.tier, status.cached, _duration(status.expires_in),
                     _duration(status.renews_in), " ".join(status.scopes)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
              + "  " + row[4])
    return 0


TOKENS_COMMAND = Command("tokens", "Management token cache: status | flush", tokens, _arguments)
