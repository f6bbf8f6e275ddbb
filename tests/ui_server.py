"""For the browser tests: the built frontend, the demo server as a subprocess, Chromium, and a TCP
relay that can cut every connection (to show the UI losing and regaining the server).

Each starter raises services.ServiceUnavailable with the reason when something is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests import services

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
STATIC_INDEX = ROOT / "api" / "static" / "index.html"
CHROMIUM = Path("/usr/bin/chromium")
# notes/stack.md: Debian's chromium under Playwright, never a downloaded browser.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]


def ensure_frontend() -> None:
    """Build the frontend into api/static/ once, when no build is there yet."""
    if STATIC_INDEX.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise services.ServiceUnavailable("api/static/index.html is missing and npm is not installed to build it")
    steps = ([] if (FRONTEND / "node_modules").exists() else [[npm, "ci"]]) + [[npm, "run", "build"]]
    for cmd in steps:
        r = subprocess.run(cmd, cwd=FRONTEND, capture_output=True, text=True, timeout=600, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"frontend build failed: {' '.join(cmd)}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    if not STATIC_INDEX.exists():
        raise RuntimeError("npm run build finished but api/static/index.html is still missing")


def check_chromium() -> str:
    if not CHROMIUM.exists():
        raise services.ServiceUnavailable(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return str(CHROMIUM)


# One client for the process: httpx.get/post build a client, and with it a TLS context, on every call
# (about 10 ms of CPU each, a tenth of a browser test's own time while it polls the demo).
_HTTP = httpx.Client()


def http_json(url: str, body: Any = None, token: str | None = None, timeout: float = 20) -> Any:
    """GET (no body) or POST JSON; the parsed answer, or RuntimeError on an HTTP error status."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if body is None:
        r = _HTTP.get(url, headers=headers, timeout=timeout)
    else:
        r = _HTTP.post(url, json=body, headers=headers, timeout=timeout)
    if r.status_code >= 400:
        raise RuntimeError(f"{url}: HTTP {r.status_code} {r.text[:500]}")
    return r.json()


@dataclass
class DemoServer:
    url: str
    port: int
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def password(self, username: str) -> str:
        return str(self.users[username]["password"])

    def token(self, username: str) -> str:
        if username not in self._tokens:
            body = self.gql("mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}",
                            {"u": username, "p": self.password(username)}, token=None)
            self._tokens[username] = body["signIn"]["token"]
        return self._tokens[username]

    def gql(self, query: str, variables: dict[str, Any] | None = None, *, as_user: str | None = "op.chen",
            token: str | None = "") -> dict[str, Any]:
        """`data` of a GraphQL request; raises with the errors when there are any."""
        tok = self.token(as_user) if token == "" and as_user else token
        body = http_json(f"{self.url}/graphql", {"query": query, "variables": variables or {}}, tok)
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return dict(body["data"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_demo(data_dir: Path, timeout: float = 120) -> DemoServer:
    """`python -m api.cli demo` on a free 127.0.0.1 port; returns when /health answers."""
    port = services.free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PLASMATWIN_DEMO_PACE": "fast"}  # its batches made in a minute
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "demo", "--data-dir", str(data_dir), "--port", str(port),
             "--host", "127.0.0.1"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    server = DemoServer(f"http://127.0.0.1:{port}", port, data_dir, proc, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the demo server exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if http_json(f"{server.url}/health", timeout=2).get("status") == "ok":
                break
        except (httpx.HTTPError, RuntimeError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the demo server did not answer /health within {timeout}s:\n{server.log_tail()}")
        time.sleep(0.25)
    server.users = {u["username"]: u for u in json.loads((data_dir / "demo-users.json").read_text())}
    return server


class Relay:
    """A TCP relay from a free port to the server. `cut()` drops every connection and refuses new
    ones until `restore()`: to the browser this looks like the server going away and coming back."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = services.free_port()
        self._open = True
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _listen(self) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        s.settimeout(0.2)
        self._listener = s
        self._thread = threading.Thread(target=self._accept, args=(s,), daemon=True)
        self._thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._open and not self._stopped:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()
        listener.close()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self) -> None:
        """Stop listening (new connections are refused) and reset every open one."""
        self._open = False
        if self._thread:
            self._thread.join(2)
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self) -> None:
        self._open = True
        self._listen()

    def stop(self) -> None:
        self._stopped = True
        self.cut()
