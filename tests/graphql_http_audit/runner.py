"""Run graphql-http's server audits (GraphQL over HTTP conformance) against a live URL.

The Node side lives beside this file (``package.json``, ``package-lock.json``, ``audit.mjs``).
``ensure_installed()`` installs it on first use; ``run_audit(url)`` returns one dict per audit::

    {"id": "4655", "name": "MUST accept application/json and match the content-type",
     "status": "ok" | "notice" | "warn" | "error", "reason": str | None}

A failed MUST is ``"error"``, a failed SHOULD ``"warn"``, a failed MAY ``"notice"``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
AUDIT_SCRIPT = HERE / "audit.mjs"
INSTALL_TIMEOUT = 300.0


def _installed() -> bool:
    return (HERE / "node_modules" / "graphql-http" / "package.json").is_file()


def ensure_installed() -> str | None:
    """Install the Node dependencies if missing; None on success, else the reason it cannot run."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH"
    if _installed():
        return None
    verb = "ci" if (HERE / "package-lock.json").is_file() else "install"
    argv = [npm, verb, "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        proc = subprocess.run(argv, cwd=HERE, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm {verb} failed: {exc}"
    if proc.returncode != 0 or not _installed():
        return f"npm {verb} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}"
    return None


def run_audit(url: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Run every graphql-http server audit against ``url``; blocking (use asyncio.to_thread from async code)."""
    reason = ensure_installed()
    if reason is not None:
        raise RuntimeError(f"graphql-http audit unavailable: {reason}")
    node = shutil.which("node")
    assert node is not None  # checked by ensure_installed
    try:
        proc = subprocess.run(
            [node, str(AUDIT_SCRIPT), url], cwd=HERE, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"graphql-http audit of {url} timed out after {timeout}s") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"graphql-http audit of {url} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    try:
        results = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"graphql-http audit printed no JSON: {proc.stdout[:500]!r} {proc.stderr.strip()}") from exc
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise RuntimeError(f"graphql-http audit printed an unexpected shape: {proc.stdout[:500]!r}")
    return results
