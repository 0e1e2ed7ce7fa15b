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


def foreign_test_imports(root: Path = ROOT) -> list[str]:
    """Imports, anywhere under tests/, of a `tests.*` module outside `tests.support`: shared
    helpers live in tests/support, never in a test module, a conftest or a package's own
    helper file (function-level and relative imports included)."""
    hits = []
    for path in sorted((root / "tests").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        package = parts[:-1]  # what a relative import is relative to (__init__: its own)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package[:len(package) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from tests import x` imports the module tests.x; `from tests.a import f`
                # imports tests.a.
                targets = ([f"{base}.{alias.name}" for alias in node.names]
                           if base == "tests" else [base])
            for target in targets:
                if (target == "tests" or target.startswith("tests.")) and not (
                        target == "tests.support" or target.startswith("tests.support.")):
                    hits.append(f"{path.relative_to(root)}:{node.lineno}: {target}")
    return hits


def test_tests_share_helpers_only_through_tests_support() -> None:
    assert foreign_test_imports() == []


def test_the_test_import_check_finds_each_kind_of_foreign_import(tmp_path: Path) -> None:
    files = {
        "tests/__init__.py": "",
        "tests/support/__init__.py": "",
        "tests/support/stack.py": "from tests.support.servers import LiveServer\n",
        "tests/a/__init__.py": "",
        "tests/a/conftest.py": "from tests.support import stack\n",
        "tests/a/test_x.py": ("from .conftest import helper\n"
                              "from tests.b.test_y import CASES\n"
                              "def f():\n    import tests.b.procs\n"),
        "tests/b/test_y.py": "from tests import conftest\nfrom tests.support.stack import S\n",
    }
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    assert foreign_test_imports(tmp_path) == [
        "tests/a/test_x.py:1: tests.a.conftest",
        "tests/a/test_x.py:2: tests.b.test_y",
        "tests/a/test_x.py:4: tests.b.procs",
        "tests/b/test_y.py:1: tests.conftest",
    ]
