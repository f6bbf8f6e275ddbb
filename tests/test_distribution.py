"""Packaging: our top-level packages are ours alone, and the console script is installed."""

from __future__ import annotations

import importlib
import shutil
from importlib.metadata import distributions
from pathlib import Path

import pytest

OURS = ("api", "schema", "resolvers", "records", "policies", "subscriptions", "twin", "device_bridge")
ROOT = Path(__file__).resolve().parents[1]


def test_no_installed_distribution_ships_a_module_named_like_ours() -> None:
    clashes = []
    for dist in distributions():
        if (dist.metadata["Name"] or "").lower() == "plasmatwin":
            continue
        top = (dist.read_text("top_level.txt") or "").split()
        files = {str(f).split("/")[0].removesuffix(".py") for f in (dist.files or ())}
        for name in OURS:
            if name in top or name in files:
                clashes.append((dist.metadata["Name"], name))
    assert clashes == []


@pytest.mark.parametrize("name", OURS)
def test_our_packages_import_from_this_checkout(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None and Path(module.__file__).resolve().is_relative_to(ROOT)


def test_console_script_is_installed() -> None:
    assert shutil.which("plasmatwin") or (ROOT / ".venv" / "bin" / "plasmatwin").exists()
