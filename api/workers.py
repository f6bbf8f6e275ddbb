"""`plasmatwin serve --workers N`: N worker processes on one address, each with its own listening socket
(SO_REUSEPORT), so that the kernel spreads new connections across them. uvicorn's own multi-process mode
shares one socket, and the worker that wakes first accepts every pending connection: under wrk's ten
kept-alive connections one worker took them all and the other idled.

The supervisor restarts a worker that dies while serving, stops everything when one fails at startup
(a bad setting would fail the same way again), and passes SIGTERM/SIGINT to every worker, each of which
finishes its requests and its lifespan shutdown (uvicorn's own handling) before the command exits.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from api.settings import Settings

log = logging.getLogger("plasmatwin.workers")

# A worker that could not start exits with this (uvicorn's own code for it): the others are stopped.
STARTUP_FAILURE = 3
STOP_SECONDS = 30.0
ROOT = Path(__file__).resolve().parents[1]


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so (else 40 ms delayed ACKs).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve_worker(settings: Settings) -> None:
    """One worker: the whole application, on its own socket of the shared address."""
    import uvicorn

    from api.app import build_services, create_app
    from api.cli import server_options

    try:
        sock = listening_socket(settings.host, settings.port)
        app = create_app(settings, build_services(settings))
    except Exception:
        log.exception("worker could not start")
        sys.exit(STARTUP_FAILURE)
    config = uvicorn.Config(app, **server_options(settings))
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:  # the lifespan failed (database away, bad bridge file...)
        sys.exit(STARTUP_FAILURE)


def supervise(settings: Settings, workers: int) -> int:
    # Bound (not listening) while the workers run: the address is checked once, here, before any starts.
    try:
        held = listening_socket(settings.host, settings.port)
    except OSError as e:
        print(f"cannot listen on {settings.host}:{settings.port}: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    procs = [_start(i) for i in range(workers)]
    log.info("serving on %s:%d with %d workers %s", settings.host, settings.port, workers, [p.pid for p, _ in procs])
    failed = False
    try:
        while not stop.wait(0.5):
            for i, (proc, began) in enumerate(procs):
                code = proc.poll()
                if code is None:
                    continue
                if code == STARTUP_FAILURE:  # would fail the same way again
                    log.error("worker %d (pid %d) failed to start: stopping", i, proc.pid)
                    failed = True
                    stop.set()
                    break
                if time.monotonic() - began < 1.0:
                    continue  # no faster than once a second
                log.warning("worker %d (pid %d) ended (exit %d): starting another", i, proc.pid, code)
                procs[i] = _start(i)
    finally:
        _stop_all([p for p, _ in procs])
        held.close()
    return 1 if failed else 0


def _start(index: int) -> tuple[subprocess.Popen[bytes], float]:
    # The caller's working directory (relative paths in the settings mean the same), this package importable.
    path = os.pathsep.join(x for x in (str(ROOT), os.environ.get("PYTHONPATH", "")) if x)
    env = {**os.environ, "PLASMATWIN_WORKER_INDEX": str(index), "PYTHONPATH": path}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--worker"], env=env)
    return proc, time.monotonic()


def _stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.error("worker pid %d did not stop in %.0f s: killed", p.pid, STOP_SECONDS)
            p.kill()
            p.wait()
