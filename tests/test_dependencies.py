"""The deployment lock agrees with the pins in pyproject.toml and has a hash for every package."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>~!; ]", requirement, maxsplit=1)[0]).lower()


def test_every_pinned_dependency_is_locked_at_its_pin_with_hashes() -> None:
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "dependencies"]
    entries = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}"
                         r"(?: \\)?\n)+)", (ROOT / "requirements.lock").read_text(encoding="utf-8"),
                         re.MULTILINE)
    locked = {_name(name): version for name, version, _ in entries}
    assert len(entries) >= len(pins)
    for requirement in pins:
        assert "==" in requirement, f"{requirement}: pyproject.toml pins exact versions"
        assert locked.get(_name(requirement)) == requirement.split("==")[1], requirement
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert len(entries) == len(re.findall(r"^\S+==", text, re.MULTILINE)), "a package without hashes"
