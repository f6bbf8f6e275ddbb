"""The schema explorer's page (GraphiQL, issue 15) at /explorer, built with the frontend (frontend/explorer.html),
never loaded from a CDN: plants are often offline."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

# Scripts, requests and fonts only from this server, no eval. Styles may be inline on this page alone: GraphiQL's
# editors and dialogs add style elements as they open.
EXPLORER_CSP = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
    "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'",
    "frame-ancestors 'none'"))


def explorer_routes(page: Path) -> list[Route]:
    """/explorer, and the built file's own name so the page never goes out without its policy; none without a
    build. The page holds nothing secret: without a session in the tab it asks to sign in in the app first."""
    if not page.exists():
        return []

    async def explorer(_: Request) -> Response:
        return FileResponse(page, media_type="text/html; charset=utf-8",
                            headers={"content-security-policy": EXPLORER_CSP, "cache-control": "no-cache"})

    return [Route("/explorer", explorer), Route("/explorer.html", explorer)]
