"""Apache Lucene's own classic QueryParser as a test oracle.

``tests/lucene_oracle/LuceneOracle.java`` is compiled once (into a cache directory under
the system temp dir, keyed by a hash of the source and the jars, safe when several pytest
processes race for it) and ONE long-lived ``java`` process per test session answers
``parse(query)`` with the normalized JSON tree of the Query Lucene builds (the forms are
listed in the Java file), e.g.::

    parse("a AND b") == {"ok": True, "tree": {"bool": [
        ["MUST", {"term": ["_default_", "a"]}], ["MUST", {"term": ["_default_", "b"]}]]}}
    parse("a AND") == {"ok": False, "error": "Cannot parse 'a AND': Encountered ..."}

Use it through the ``lucene_oracle`` fixture: import its definition into the test module
(``from tests.support.lucene_oracle import lucene_oracle_fixture  # noqa: F401``) and
name ``lucene_oracle: LuceneOracle`` as a test argument; or call ``session_oracle()`` /
``parse()`` directly. Where Java or the Lucene jars (Debian: liblucene8-java,
default-jre-headless) are missing the tests are skipped locally and FAIL under CI=true.
"""

from __future__ import annotations

import atexit
import glob
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.redis_helpers import skip_or_fail

SOURCE = Path(__file__).resolve().parents[1] / "lucene_oracle" / "LuceneOracle.java"
JAR_DIR = Path(os.environ.get("LUCENE_JAR_DIR", "/usr/share/java"))
# queryparser needs core; WhitespaceAnalyzer is in analyzers-common. queries and sandbox
# are what the queryparser jar links against for its other parsers; added when present.
REQUIRED_JARS = ("lucene-core", "lucene-queryparser", "lucene-analyzers-common")
OPTIONAL_JARS = ("lucene-queries", "lucene-sandbox")
DEFAULT_FIELD = "_default_"


def _jar(name: str) -> Path | None:
    found = sorted(glob.glob(str(JAR_DIR / f"{name}-[0-9]*.jar")))
    return Path(found[-1]) if found else None


def jars() -> list[Path]:
    """The Lucene jars on the class path (raises LookupError naming a missing one)."""
    paths: list[Path] = []
    for name in REQUIRED_JARS:
        jar = _jar(name)
        if jar is None:
            raise LookupError(f"{JAR_DIR}/{name}-*.jar not found (Debian package liblucene8-java)")
        paths.append(jar)
    paths.extend(jar for name in OPTIONAL_JARS if (jar := _jar(name)) is not None)
    return paths


def missing() -> str | None:
    """Why the oracle cannot run here, or None when it can."""
    if shutil.which("java") is None:
        return "`java` not found (Debian package default-jre-headless)"
    try:
        jars()
    except LookupError as exc:
        return str(exc)
    if not SOURCE.is_file():
        return f"{SOURCE} is missing"
    return None


def available() -> bool:
    return missing() is None


def _compiled(class_path: list[Path]) -> Path:
    """The directory holding LuceneOracle.class, compiling it first when needed."""
    digest = hashlib.sha256(SOURCE.read_bytes())
    for jar in class_path:
        stat = jar.stat()
        digest.update(f"{jar}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    uid = os.getuid() if hasattr(os, "getuid") else 0
    target = Path(tempfile.gettempdir()) / f"lucene-oracle-{uid}-{digest.hexdigest()[:16]}"
    if (target / "LuceneOracle.class").is_file():
        return target
    # Compile into a private directory, then rename it into place: a concurrent process
    # either wins the rename (we use its identical classes) or loses to us.
    work = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        # javac when there is a JDK; else the compiler module Debian's JRE also ships.
        javac = ["javac"] if shutil.which("javac") else ["java", "-m",
                                                           "jdk.compiler/com.sun.tools.javac.Main"]
        result = subprocess.run(
            [*javac, "-nowarn", "-encoding", "UTF-8", "-d", str(work),
             "-cp", os.pathsep.join(map(str, class_path)), str(SOURCE)],
            capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"javac failed:\n{result.stdout}{result.stderr}")
        try:
            os.rename(work, target)
        except OSError:
            if not (target / "LuceneOracle.class").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


class LuceneOracle:
    """One ``java`` process answering queries one line at a time."""

    def __init__(self) -> None:
        class_path = jars()
        classes = _compiled(class_path)
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            ["java", "-Xshare:auto", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-cp", os.pathsep.join([str(classes), *map(str, class_path)]), "LuceneOracle"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            encoding="ascii", errors="strict", bufsize=1)

    def parse(self, query: str) -> dict[str, Any]:
        """Lucene's reading of ``query``: {"ok": True, "tree": ...} or {"ok": False, "error"}."""
        line = json.dumps(query, ensure_ascii=True)  # one line, ASCII, any character
        with self._lock:
            stdin, stdout = self._process.stdin, self._process.stdout
            assert stdin is not None and stdout is not None
            try:
                stdin.write(line + "\n")
                stdin.flush()
                answer = stdout.readline()
            except (BrokenPipeError, OSError):
                answer = ""
            if not answer:
                raise RuntimeError(f"the Lucene oracle died: {self._stderr()}")
        decoded: dict[str, Any] = json.loads(answer)
        return decoded

    def _stderr(self) -> str:
        self.close()
        stderr = self._process.stderr
        return stderr.read() if stderr is not None else ""

    def close(self) -> None:
        if self._process.poll() is None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


_oracle: LuceneOracle | None = None
_oracle_lock = threading.Lock()


def session_oracle() -> LuceneOracle:
    """The process-wide oracle, started on first use (skips / fails when unavailable)."""
    global _oracle
    reason = missing()
    if reason is not None:
        skip_or_fail(f"Apache Lucene oracle unavailable: {reason}")
    with _oracle_lock:
        if _oracle is None:
            _oracle = LuceneOracle()
            atexit.register(_oracle.close)
        return _oracle


def parse(query: str) -> dict[str, Any]:
    """Lucene's reading of ``query`` through the session's oracle."""
    return session_oracle().parse(query)


@pytest.fixture(scope="session", name="lucene_oracle")
def lucene_oracle_fixture() -> LuceneOracle:
    """The session's Lucene oracle; skipped locally, failed under CI=true, when missing."""
    return session_oracle()
