"""Print the API's GraphQL schema (SDL) into frontend/schema.graphql, the input of `npm run codegen`.

Run by `npm run schema` with the project's venv. tests/test_frontend_schema.py fails while the
committed file differs from what the Python schema prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[1]
SDL_PATH = FRONTEND / "schema.graphql"


def sdl() -> str:
    sys.path.insert(0, str(FRONTEND.parent))
    from schema.root import build_schema

    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(sdl(), encoding="utf-8")
    print(f"wrote {SDL_PATH.relative_to(FRONTEND.parent)}")
