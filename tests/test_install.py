"""A plain install works: the wheel, installed without extras into a fresh virtualenv with the pinned
versions of constraints.txt, runs `plasmatwin demo` and serves the API and the browser app.

The pins themselves come from here too: `make constraints` (`python -m tests.test_install`) writes
constraints.txt from the dependency closure of `plasmatwin[dev]` as installed in .venv, and the table of
docs/validation.md; `test_pins_match_the_validated_venv` fails when either is stale.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import services
from tests.ui_server import STATIC_INDEX, ensure_frontend

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
VALIDATION = ROOT / "docs" / "validation.md"
TABLE_START = "<!-- pinned runtime dependencies: written by `make constraints` -->"
TABLE_END = "<!-- end of pinned runtime dependencies -->"
# What a build needs from the checkout; caches, venvs, node_modules and var/ stay behind.
NOT_BUILT = shutil.ignore_patterns(".git", ".venv", "node_modules", "var", "build", "*.egg-info", "__pycache__",
                                   ".*_cache", "frontend", "tests", "bench", "docs")
# Said by pip when the package index cannot be reached at all (as opposed to a resolution failure).
OFFLINE = re.compile(r"NewConnectionError|Temporary failure in name resolution|Network is unreachable|"
                     r"Failed to establish a new connection|ConnectTimeoutError")


# --- the pins -------------------------------------------------------------------------------------

def closure(extras: tuple[str, ...] = ()) -> dict[str, str]:
    """Every distribution plasmatwin[extras] needs, as installed here: canonical name -> "Name==version".

    The project's own requirements come from pyproject.toml (the installed metadata of an editable
    install can be stale, and a *.egg-info in the checkout can shadow it); the rest from the installed
    distributions' metadata, following extras and evaluating markers for this interpreter."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [Requirement(line) for line in project["dependencies"]]
    todo += [Requirement(line) for extra in extras for line in project["optional-dependencies"][extra]]
    pins: dict[str, str] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in done:
            continue
        done.add(key)
        dist = metadata.distribution(req.name)
        pins[key[0]] = f"{dist.metadata['Name']}=={dist.version}"
        for line in dist.requires or []:
            sub = Requirement(line)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                todo.append(sub)
    return pins


def constraints_text() -> str:
    runtime = closure()
    dev_only = {k: v for k, v in closure(extras=("dev",)).items() if k not in runtime}
    where = f"{platform.python_implementation()} {sys.version_info.major}.{sys.version_info.minor}, " \
            f"{platform.system()} {platform.machine()}"
    return "\n".join([
        "# The validated versions: the dependency closure of plasmatwin[dev], pinned as installed in .venv",
        f"# ({where}). `make` installs with `pip install -c constraints.txt -e '.[dev]'`;",
        "# a wheel installs with `pip install plasmatwin-*.whl -c constraints.txt`. Do not edit by hand:",
        "# after a dependency change in pyproject.toml run `make constraints` (it writes this file and the",
        "# table in docs/validation.md from .venv) and commit both; docs/validation.md says how to upgrade.",
        "",
        "# runtime: what `pip install plasmatwin` brings",
        *(runtime[k] for k in sorted(runtime)),
        "",
        "# [dev] only: tests, linters, type checker, browser driver",
        *(dev_only[k] for k in sorted(dev_only)),
        "",
    ])


def pinned(text: str) -> dict[str, str]:
    """constraints.txt read back: canonical name -> version."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            out[canonicalize_name(name)] = version
    return out


def validation_table(constraints: str) -> str:
    """The top-level runtime dependencies of pyproject.toml with their pinned versions (markdown)."""
    versions = pinned(constraints)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    rows = ["| package | required by pyproject.toml | pinned (constraints.txt) |", "|---|---|---|"]
    for line in project["dependencies"]:
        req = Requirement(line)
        name = req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
        rows.append(f"| {name} | `{req.specifier}` | {versions.get(canonicalize_name(req.name), 'NOT PINNED')} |")
    return "\n".join([TABLE_START, *rows, TABLE_END])


def _with_table(doc: str, table: str) -> str:
    start, end = doc.index(TABLE_START), doc.index(TABLE_END) + len(TABLE_END)
    return doc[:start] + table + doc[end:]


def write_pins() -> None:
    text = constraints_text()
    CONSTRAINTS.write_text(text, encoding="utf-8")
    VALIDATION.write_text(_with_table(VALIDATION.read_text(encoding="utf-8"), validation_table(text)),
                          encoding="utf-8")
    print(f"wrote {CONSTRAINTS.name} ({len(pinned(text))} pins) and the table in docs/validation.md")


def test_pins_match_the_validated_venv() -> None:
    """constraints.txt pins exactly what this environment runs; docs/validation.md lists those pins."""
    assert CONSTRAINTS.read_text(encoding="utf-8") == constraints_text(), \
        "constraints.txt differs from the installed dependency closure: run `make constraints` (or reinstall)"
    assert TABLE_START in (doc := VALIDATION.read_text(encoding="utf-8"))
    assert doc == _with_table(doc, validation_table(constraints_text())), \
        "the table in docs/validation.md is stale: run `make constraints`"


# --- the plain install ----------------------------------------------------------------------------

def _unavailable(reason: str) -> None:
    if services.REQUIRE:
        pytest.fail(f"required service missing (PLASMATWIN_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    started = time.monotonic()
    print(f"$ {' '.join(cmd)}", flush=True)
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    print(f"  ({time.monotonic() - started:.0f} s, exit {r.returncode})", flush=True)
    if r.returncode != 0:
        output = r.stdout + r.stderr
        if OFFLINE.search(output):
            _unavailable(f"the package index is unreachable for {cmd[1:4]}: {output[-500:]}")
        raise AssertionError(f"{' '.join(cmd)} failed with {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout


@pytest.mark.install
def test_wheel_without_extras_runs_the_demo_and_serves_the_ui() -> None:
    try:
        ensure_frontend()
    except services.ServiceUnavailable as e:
        _unavailable(str(e))
    assert STATIC_INDEX.exists()
    # Nothing of the checkout may leak in: no PYTHONPATH, no active venv, and every command runs in the
    # temporary directory, so `api` and friends can only come from the fresh venv.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONUNBUFFERED"] = "1"
    with tempfile.TemporaryDirectory(prefix="plasmatwin-install-") as tmp:
        work = Path(tmp)
        # The build runs in a copy: setuptools writes build/ and *.egg-info next to the sources, and a
        # stale build/lib would put modules into the wheel that the checkout no longer has.
        shutil.copytree(ROOT, work / "src", ignore=NOT_BUILT)
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(work / "src")],
             work, env, 300)
        wheel = next((work / "dist").glob("plasmatwin-*.whl"))
        _run([sys.executable, "-m", "venv", str(work / "venv")], work, env, 120)
        bin_ = work / "venv" / "bin"
        _run([str(bin_ / "python"), "-m", "pip", "install", "-q", str(wheel), "-c", str(CONSTRAINTS)], work, env, 600)
        _run([str(bin_ / "python"), "-m", "pip", "check"], work, env, 60)
        where = _run([str(bin_ / "python"), "-c", "import api; print(api.__file__)"], work, env, 60)
        assert where.strip().startswith(str(work / "venv")), where

        # Everything the plain install brought is pinned, at the pinned version.
        pins = pinned(CONSTRAINTS.read_text(encoding="utf-8"))
        frozen = _run([str(bin_ / "python"), "-m", "pip", "freeze", "--exclude", "plasmatwin"], work, env, 60)
        for line in frozen.splitlines():
            name, _, version = line.partition("==")
            assert pins.get(canonicalize_name(name)) == version, f"{line} is not pinned in constraints.txt"

        _run([str(bin_ / "plasmatwin"), "--help"], work, env, 60)
        _serve_demo(bin_ / "plasmatwin", work, env)


def _serve_demo(plasmatwin: Path, work: Path, env: dict[str, str]) -> None:
    port = services.free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = work / "demo.log"
    print(f"$ plasmatwin demo on {base}", flush=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(plasmatwin), "demo", "--data-dir", str(work / "data"), "--port", str(port),
                                 "--host", "127.0.0.1"], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        started, deadline = time.monotonic(), time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"plasmatwin demo exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"no /health within 180 s:\n{log_path.read_text()[-3000:]}"
            time.sleep(0.5)
        print(f"  /health answered after {time.monotonic() - started:.0f} s", flush=True)

        r = httpx.post(f"{base}/graphql", json={"query": "{__typename}"}, timeout=10)
        assert r.status_code == 200 and r.json() == {"data": {"__typename": "Query"}}, r.text

        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.headers
        assert '<div id="app">' in page.text, page.text[:500]
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
        assert assets, page.text[:500]
        for asset in assets:
            assert httpx.get(f"{base}{asset}", timeout=10).status_code == 200, asset
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


if __name__ == "__main__":
    write_pins()
