"""`make validate`'s report: docs/validation/ from a run of the whole suite (its JUnit XML), the traceability
matrix that run wrote, the environment it ran in and the audit-evidence package of a freshly seeded demo store.

    python -m tests.validation_report --junit var/validation/junit.xml --out docs/validation [--evidence]

Writes README.md (the summary), matrix.md (every requirement, its tests and their results; the open ones with
their reason), environment.md (exact versions) and, with --evidence, evidence/ (resolvers/evidence.py).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import UTC, datetime
from importlib.metadata import distributions, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| ([A-Z]{2}-\d+) \| ([^|]+) \| (.*) \| (.*) \|$")


def results(junit: Path) -> dict[str, list[str]]:
    """Test node id without parameters -> the outcome of each of its runs (passed, failed, skipped)."""
    out: dict[str, list[str]] = defaultdict(list)
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our own test run's report
        path = case.get("classname", "").replace(".", "/")
        name = case.get("name", "").split("[")[0]
        # A test inside a class has the class as the last part of classname.
        parts = path.split("/")
        node = (f"{'/'.join(parts[:-1])}.py::{parts[-1]}::{name}" if parts[-1][:1].isupper()
                else f"{path}.py::{name}")
        outcome = "failed" if case.find("failure") is not None or case.find("error") is not None else \
            "skipped" if case.find("skipped") is not None else "passed"
        out[node].append(outcome)
    return out


def verdict(outcomes: list[str]) -> str:
    if not outcomes:
        return "NOT RUN"
    if "failed" in outcomes:
        return "FAILED"
    if all(o == "skipped" for o in outcomes):
        return "SKIPPED"
    return f"passed ({len(outcomes)})" if len(outcomes) > 1 else "passed"


def matrix(traceability: Path, runs: dict[str, list[str]]) -> tuple[str, dict[str, int]]:
    """The matrix with each test's result; counts of SHALL requirements proven, failing and open."""
    lines = ["# Requirements, tests and results", "",
             "Each requirement of the guideline with the tests marked to prove it and their result in this run; a "
             "requirement with no proving test is listed with the reason (tests/req_open.py).", "",
             "| ID | level | requirement | tests and results |", "|---|---|---|---|"]
    counts = {"shall": 0, "proven": 0, "failing": 0, "open": 0, "uncovered": 0}
    for line in traceability.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if not m:
            continue
        rid, level, text, tests = m.groups()
        names = re.findall(r"`([^`]+)`", tests)
        shall = level.startswith("SHALL")
        if names:
            cells = [f"`{n}` {verdict(runs.get(n, []))}" for n in names]
            bad = any(verdict(runs.get(n, [])) in ("FAILED", "NOT RUN") for n in names)
            cell = "<br>".join(cells)
            if shall:
                counts["failing" if bad else "proven"] += 1
        else:
            cell = tests
            if shall:
                counts["open" if tests.startswith("open:") else "uncovered"] += 1
        counts["shall"] += shall
        lines.append(f"| {rid} | {level} | {text} | {cell} |")
    head = (f"SHALL requirements: {counts['shall']}; proven by passing tests: {counts['proven']}; with a failing or "
            f"unrun test: {counts['failing']}; open with a reason: {counts['open']}; neither: {counts['uncovered']}.")
    return "\n".join([*lines[:4], head, "", *lines[4:]]) + "\n", counts


def _first_line(argv: list[str]) -> str:
    exe = shutil.which(argv[0])
    if exe is None:
        return "not installed"
    try:
        done = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"not runnable: {exc}"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "?"


def environment() -> str:
    from tests import services

    try:
        postgres = _first_line([str(services._pg_bindir() / "postgres"), "--version"])
    except services.ServiceUnavailable as exc:
        postgres = f"not installed: {exc}"
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, pinned = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = pinned.strip()
    installed = {(d.metadata["Name"] or "").lower().replace("_", "-"): d.version for d in distributions()}
    drift = [f"| {n} | {p} | {installed.get(n, 'missing')} |" for n, p in sorted(pins.items())
             if installed.get(n) != p]
    lines = ["# Environment of this run", "",
             f"- PlasmaTwin {version('plasmatwin')}, git {_first_line(['git', '-C', str(ROOT), 'rev-parse', 'HEAD'])}",
             f"- Python {platform.python_version()} ({sys.executable}), {platform.platform()}",
             f"- PostgreSQL: {postgres}", f"- Redis: {_first_line(['redis-server', '--version'])}",
             f"- Mosquitto: {_first_line(['mosquitto', '-h'])}",
             f"- Chromium: {_first_line(['chromium', '--version'])}",
             f"- Node.js: {_first_line(['node', '--version'])}", "",
             f"Python packages: {len(pins)} pinned in constraints.txt; "
             + ("every one installed at its pinned version." if not drift else f"{len(drift)} differ:"), ""]
    if drift:
        lines += ["| package | pinned | installed |", "|---|---|---|", *drift]
    return "\n".join(lines) + "\n"


def _demo_evidence(out: Path) -> bool:
    """A demo store seeded from scratch (migrations, plant, population, users), then its package."""
    from demo import setup
    from records.db import Database
    from resolvers.evidence import Evidence, collect, save

    with tempfile.TemporaryDirectory(prefix="plasmatwin-validation-") as tmp:
        data = Path(tmp)
        url = setup.migrate_demo(data)  # migrations run their own event loop: before ours
        users, _ = setup.prepare_files(data)

        async def seeded() -> Evidence:
            db = Database(url)
            try:
                await setup.seed_all(db, users)
                return await collect(db)
            finally:
                await db.dispose()

        evidence = asyncio.run(seeded())
    save(evidence, out)
    return evidence.ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--junit", required=True, type=Path)
    parser.add_argument("--matrix", type=Path, default=ROOT / "docs" / "traceability.md")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--rc", type=int, default=None, help="pytest's exit code")
    parser.add_argument("--evidence", action="store_true", help="also write evidence/ from a fresh demo store")
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    runs = results(args.junit)
    text, counts = matrix(args.matrix, runs)
    (args.out / "matrix.md").write_text(text, encoding="utf-8")
    (args.out / "environment.md").write_text(environment(), encoding="utf-8")
    outcomes = [o for v in runs.values() for o in v]
    evidence = None
    if args.evidence:
        print("validation: seeding a demo store for the audit-evidence package", flush=True)
        evidence = _demo_evidence(args.out / "evidence")
    summary = [
        "# Validation package", "", f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make validate`.", "",
        f"- Test run: {outcomes.count('passed')} passed, {outcomes.count('failed')} failed, "
        f"{outcomes.count('skipped')} skipped" + (f" (pytest exit code {args.rc})" if args.rc is not None else ""),
        f"- SHALL requirements: {counts['shall']}; proven by passing tests {counts['proven']}, with a failing or "
        f"unrun test {counts['failing']}, open with a reason {counts['open']}, neither {counts['uncovered']} "
        "([matrix.md](matrix.md))",
        "- The environment, exact versions: [environment.md](environment.md)",
    ]
    if evidence is not None:
        summary.append(f"- Audit evidence of a freshly seeded demo store ({'verified' if evidence else 'PROBLEMS'}): "
                       "[evidence/](evidence/manifest.json): trail extract and its verification, permissions, "
                       "signatures, retention")
    (args.out / "README.md").write_text("\n".join(summary) + "\n", encoding="utf-8")
    print("\n".join(summary[4:]))
    ok = counts["failing"] == 0 and counts["uncovered"] == 0 and outcomes.count("failed") == 0 and evidence is not False
    return 0 if ok and (args.rc in (None, 0)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
