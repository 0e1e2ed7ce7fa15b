"""Run `admin-gateway demo` as a subprocess, read its banner, and find its processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class DemoRun:
    proc: subprocess.Popen[str]
    banner: str

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C, as in a terminal; the demo's exit code once it has stopped everything."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode


def run_demo(env: dict[str, str], timeout: float = 90) -> Iterator[DemoRun]:
    """Yield the running demo once its banner (up to the "More tokens:" line) is printed;
    stop it after (unless the test already has)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "devtools.cli", "demo", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("More tokens:"):
            break
    run = DemoRun(proc, "".join(lines))
    try:
        yield run
    finally:
        run.stop()


def demo_banner(env: dict[str, str], timeout: float = 90) -> Iterator[str]:
    """Yield the demo's banner; stop the demo after."""
    for run in run_demo(env, timeout):
        yield run.banner


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    start_time: str  # /proc/<pid>/stat field 22: tells a reused pid apart
    cmdline: str

    def running(self) -> bool:
        """Still this process and not yet exited (a zombie has exited: only unreaped)."""
        found = read_process(self.pid)
        return found is not None and found[1] == self.start_time and found[2] != "Z"


def read_process(pid: int) -> tuple[int, str, str] | None:
    """(ppid, start time, state) from /proc/<pid>/stat, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)", which may hold spaces
    return int(fields[1]), fields[19], fields[0]


def descendants(root: int) -> list[Process]:
    """Every live process under `root` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := read_process(int(entry.name))) is not None:
            children.setdefault(found[0], []).append(int(entry.name))
    out: list[Process] = []
    queue = list(children.get(root, []))
    while queue:
        pid = queue.pop()
        found = read_process(pid)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if found is not None:
            out.append(Process(pid, found[0], found[1], cmdline.strip()))
            queue.extend(children.get(pid, []))
    return out
