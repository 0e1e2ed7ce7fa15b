"""Auth0's Management API OpenAPI document, vendored gzip-compressed in spec/auth0/.

The one place that knows where the document lives and that it is compressed:
the scripts, the emulator's subset check and the tests read it through
`read_bytes()` or `load()`, and `scripts/refresh_auth0_spec.py` replaces it
through `write()`. The bytes read back are exactly the JSON Auth0 published
(their sha256 is the one recorded in emulator/auth0_subset.json).
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENDORED = ROOT / "spec" / "auth0" / "management-api-oas.json.gz"
_GZIP_MAGIC = b"\x1f\x8b"


def decode(data: bytes) -> bytes:
    """JSON bytes from either gzip-compressed or plain bytes."""
    return gzip.decompress(data) if data[:2] == _GZIP_MAGIC else data


def read_bytes(path: Path = VENDORED) -> bytes:
    """The document's JSON bytes (a .gz is decompressed; a plain .json is read as is)."""
    return decode(path.read_bytes())


def load(path: Path = VENDORED) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(read_bytes(path))
    return document


def compress(raw: bytes) -> bytes:
    """Reproducible gzip: the same JSON always gives the same bytes.

    No file name and mtime 0 in the header (GzipFile also writes OS byte 255,
    "unknown", whatever the platform), level 9.
    """
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as out:
        out.write(raw)
    return buffer.getvalue()


def write(raw: bytes, path: Path = VENDORED) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(compress(raw))
