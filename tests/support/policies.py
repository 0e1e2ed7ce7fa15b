"""Policy files for tests: the shipped policy with some of its text replaced."""

from __future__ import annotations

from pathlib import Path


def write_policy(directory: Path, replacements: dict[str, str]) -> Path:
    """The shipped policy with some of its text replaced (each must occur once)."""
    from config.settings import DEFAULT_POLICY_FILE

    text = DEFAULT_POLICY_FILE.read_text()
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = directory / "policy.toml"
    path.write_text(text)
    return path


def policy_with(directory: Path, extra: str, replacements: dict[str, str] | None = None) -> Path:
    """The shipped policy (with `replacements`) plus extra TOML sections at the end."""
    path = write_policy(directory, replacements or {})
    path.write_text(path.read_text() + "\n" + extra)
    return path
