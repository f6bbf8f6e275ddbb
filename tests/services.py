"""Real servers for integration tests: PostgreSQL, Redis and Mosquitto on 127.0.0.1, free ports.

Each starter returns a handle or raises ServiceUnavailable with the reason. Under
PLASMATWIN_REQUIRE_SERVICES=1 (CI) the fixtures turn that into a failure instead of a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REQUIRE = os.environ.get("PLASMATWIN_REQUIRE_SERVICES") == "1"


class ServiceUnavailable(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ServiceUnavailable(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def _pg_bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    for cand in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (cand / "initdb").exists():
            return cand
    raise ServiceUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are missing: apt-get install postgresql")


@dataclass
class Postgres:
    port: int
    datadir: Path
    bindir: Path
    as_postgres: bool

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in argv]
        if self.as_postgres:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", subprocess.list2cmdline(cmd)]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)

    def create_database(self, name: str, template: str | None = None) -> str:
        more = ("-T", template) if template else ()
        r = self._run(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                      *more, name)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop")
        shutil.rmtree(self.datadir.parent, ignore_errors=True)

    def crash(self) -> None:
        """Stop as a crash does: every server process quits at once, nothing flushed or checkpointed (immediate
        mode); the next start runs crash recovery from the write-ahead log."""
        r = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        if r.returncode != 0:
            raise RuntimeError(r.stderr)

    def start_again(self) -> None:
        root = self.datadir.parent
        opts = f"-p {self.port} -k {root / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        r = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", opts, "-l", str(root / "log"),
                      "-w", "start")
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        wait_port(self.port)

    def cut_connections(self, database: str) -> int:
        """Terminate every session of `database` (as a network cut or a DBA would); how many were cut."""
        if not database.isidentifier():
            raise ValueError(f"not a database name: {database!r}")
        sql = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "  # noqa: S608 - checked name, our server
               f"WHERE datname = '{database}' AND pid <> pg_backend_pid()")
        r = self._run(str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-At",
                      "-d", "postgres", "-c", sql)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return int(r.stdout.strip() or 0)


def start_postgres() -> Postgres:
    bindir = _pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="plasmatwin-pg-"))
    datadir, sockdir = root / "data", root / "sock"
    sockdir.mkdir()
    as_postgres = os.geteuid() == 0
    if as_postgres:
        # initdb and postgres refuse to run as root: hand the directory to the postgres user.
        os.chmod(root, 0o755)  # noqa: S103 - the postgres user must reach its data dir
        shutil.chown(root, "postgres")
        shutil.chown(sockdir, "postgres")
    pg = Postgres(free_port(), datadir, bindir, as_postgres)
    r = pg._run(str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                "--no-instructions")
    if r.returncode != 0:
        raise ServiceUnavailable(f"initdb failed: {r.stderr.strip()[-500:]}")
    opts = f"-p {pg.port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    r = pg._run(str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(root / "log"), "-w", "start")
    if r.returncode != 0:
        log = (root / "log").read_text(errors="replace")[-800:] if (root / "log").exists() else ""
        raise ServiceUnavailable(f"pg_ctl start failed: {r.stderr.strip()} {log}")
    wait_port(pg.port)
    return pg


@dataclass
class Process:
    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis() -> Process:
    exe = shutil.which("redis-server")
    if not exe:
        raise ServiceUnavailable("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="plasmatwin-redis-"))
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return Process(port, proc, work)


def start_mosquitto(port: int | None = None) -> Process:
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if not exe:
        raise ServiceUnavailable("mosquitto is not installed: apt-get install mosquitto")
    port = port or free_port()
    work = Path(tempfile.mkdtemp(prefix="plasmatwin-mqtt-"))
    conf = work / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    if os.geteuid() == 0:
        conf.write_text(conf.read_text() + "user root\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return Process(port, proc, work)
