"""``python -m emulator serve|token`` (same as ``admin-gateway emulator``)."""

from __future__ import annotations

from emulator.cli import main

raise SystemExit(main())
