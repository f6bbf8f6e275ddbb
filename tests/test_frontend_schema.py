"""The browser app's query types are generated from frontend/schema.graphql: that file must be the
schema the API serves, or `npm run typecheck` checks the app against a schema that no longer exists."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
EXPORT_SCRIPT = ROOT / "frontend" / "scripts" / "export-schema.py"


def _export_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_schema", EXPORT_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_sdl_is_the_schema_the_api_serves() -> None:
    script = _export_script()
    committed = script.SDL_PATH.read_text(encoding="utf-8")
    current = script.sdl()
    diff = "".join(difflib.unified_diff(committed.splitlines(keepends=True), current.splitlines(keepends=True),
                                        "frontend/schema.graphql (committed)", "schema.root (now)", n=1))
    assert committed == current, (
        "frontend/schema.graphql is stale: run `cd frontend && npm run codegen` (exports the schema, then "
        "regenerates src/api/generated.ts), fix what `npm run typecheck` reports, and commit both files.\n"
        + diff[:4000])
