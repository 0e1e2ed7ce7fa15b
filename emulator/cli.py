"""``admin-gateway emulator serve|token``: run the emulator, get tokens from it.

    serve --port 8787 [--host 127.0.0.1] [--seed 7] [--panel-origin http://localhost:5173]
          [--plan enterprise]
    token --user alice [--url http://127.0.0.1:8787] [--profile rfc9068] [--expires-in 3600]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import urllib.error
import urllib.request
from types import FrameType

from emulator.account_state import DEFAULT_PLAN, PLANS

DEFAULT_PORT = 8787
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="admin-gateway emulator",
                                     description="Auth0 tenant emulator (dev and tests only)")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the emulator until interrupted")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    serve.add_argument("--host", default="127.0.0.1",
                       help="keep it on loopback: /emulator/* mints tokens for anyone")
    serve.add_argument("--seed", type=int, default=7, help="seed of the demo tenant")
    serve.add_argument("--panel-origin", action="append", default=[],
                       help="origin of an admin panel that may log in (repeatable)")
    serve.add_argument("--plan", choices=PLANS, default=DEFAULT_PLAN,
                       help="Auth0 plan: session and refresh token management need enterprise")
    token = commands.add_parser("token", help="print an access token for a demo user")
    token.add_argument("--user", required=True, help="alias (alice, bob, carol, dave, erin) "
                       "or user_id")
    token.add_argument("--url", default=DEFAULT_URL, help="where the emulator runs")
    token.add_argument("--profile", choices=("auth0", "rfc9068"), default="auth0")
    token.add_argument("--expires-in", type=int, default=3600)
    token.add_argument("--org-id", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args.host, args.port, args.seed, args.panel_origin, args.plan)
    return token(args.url, args.user, args.profile, args.expires_in, args.org_id)


def serve(host: str, port: int, seed: int, panel_origins: list[str] | None = None,
          plan: str = DEFAULT_PLAN) -> int:
    from emulator.server import EmulatorServer
    from emulator.tenant import Tenant

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with EmulatorServer(Tenant.demo(seed, plan=plan), host=host, port=port) as server:
        t = server.tenant
        for origin in panel_origins or ():
            t.allow_panel_origin(origin)
        lines = [
            f"Auth0 tenant emulator listening on {server.url}",
            f"  issuer               {t.issuer}",
            f"  jwks                 {t.issuer}.well-known/jwks.json",
            f"  management audience  {t.management_audience}",
            f"  gateway audience     {t.gateway_audience}",
            f"  M2M clients          {', '.join(sorted(t.clients))}",
            f"  admin panel client   {t.panel_client_id} (origins: "
            f"{', '.join(t.spa_clients[t.panel_client_id].web_origins) or 'none'})",
            f"  client secrets       GET {server.url}/emulator/clients (new on every start)",
            f"  user tokens          admin-gateway emulator token --url {server.url} "
            "--user alice|bob|carol|dave|erin",
            f"  plan                 {t.plan} (switch: POST {server.url}/emulator/tenant/plan)",
        ]
        print("\n".join(lines), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


def token(url: str, user: str, profile: str, expires_in: int, org_id: str | None) -> int:
    payload: dict[str, object] = {"user": user, "profile": profile, "expires_in": expires_in}
    if org_id:
        payload["org_id"] = org_id
    request = urllib.request.Request(
        url.rstrip("/") + "/emulator/token", data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - dev tool
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
        print(f"emulator refused: {detail}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"cannot reach the emulator at {url}: {exc}", file=sys.stderr)
        return 2
    print(body["access_token"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
