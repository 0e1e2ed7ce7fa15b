"""The shape of the code: no import cycles, no registries, per-operation behaviour in the
catalog. (Layer contracts are import-linter's job: `lint-imports`, run by .ci/run.)"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from app.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "config", "emulator", "devtools")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "." not in path.stem:  # gunicorn.conf.py is a config file, not a module
                found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module `name` imports, anywhere in the file (TYPE_CHECKING and function-level
    imports included): `from a import b` is an import of a.b when a.b is a module."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                out.add(candidate if candidate in known else base)
    return {module for module in out if module in known and module != name}


def import_cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(name, path, known) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles() -> None:
    assert import_cycles() == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, text in (("a.py", "from pkg import b\n"), ("b.py", "from . import a\n"),
                       ("__init__.py", "")):
        (tmp_path / "pkg").mkdir(exist_ok=True)
        (tmp_path / "pkg" / name).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGES", ("pkg",))
    assert import_cycles() == [["pkg.a", "pkg.b"]]


def _sources(package: str = "app") -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("pattern", ["GUARDS", "OBSERVERS", "before_send", "after_response",
                                     r"\.notes\[", r"g\.audit_call", r"\bregister_section\b",
                                     r"\bregister_role_key\b", r"@command\(", r"@check\("])
def test_no_registries_or_string_keyed_request_state(pattern: str) -> None:
    hits = [f"{path.relative_to(ROOT)}:{number}" for path in _sources()
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if re.search(pattern, line)]
    assert hits == []


def test_operation_ids_appear_only_in_the_catalog() -> None:
    ids = {operation.operation_id for operation in CATALOG}
    hits = []
    for path in _sources():
        if path.name == "catalog.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in ids:
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert hits == []
