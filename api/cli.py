"""The `plasmatwin` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette


def _serve(settings: Settings, before: object = None) -> None:
    from api.app import build_services, create_app

    services = build_services(settings)
    hooks = [before] if before else []
    serve_app(create_app(settings, services, on_startup=hooks), settings)


def serve_app(app: Starlette, settings: Settings) -> None:
    import uvicorn

    uvicorn.run(app, **server_options(settings))


def server_options(settings: Settings) -> dict[str, Any]:
    """Uvicorn's options for the API, the same for one process and for `--workers`."""
    from api.ws_protocol import BatchingWebSocketProtocol

    return {"host": settings.host, "port": settings.port, "log_level": "info", "ws": BatchingWebSocketProtocol,
            "ws_per_message_deflate": settings.ws_compression, "access_log": settings.access_log}


def workers_refusal(settings: Settings, workers: int) -> str | None:
    """Why `serve --workers N` cannot run with these settings, or None."""
    if workers < 1:
        return "--workers must be at least 1"
    if workers == 1:
        return None
    if not settings.redis_url:
        return ("--workers above 1 needs PLASMATWIN_REDIS_URL: the in-process bus cannot carry readings, alarms "
                "and sign-outs between worker processes")
    if not settings.database_url.startswith("postgresql"):
        return ("--workers above 1 needs PostgreSQL (PLASMATWIN_DATABASE_URL): SQLite lets one process write at "
                "a time, so the workers would queue on its file lock and time out under load")
    if settings.bridge_config is not None:
        return ("--workers above 1 cannot run PLASMATWIN_BRIDGE_CONFIG in process (every worker would read the "
                "same devices): run it beside them with `plasmatwin bridge --config FILE`")
    return None


# The demo's commands live in demo/cli.py, imported here only when one runs (the one import of demo
# code from a product package: pyproject.toml's import-linter contract names this edge).
def cmd_demo(args: argparse.Namespace) -> int:
    from demo.cli import demo

    return demo(args)


def cmd_bridge(args: argparse.Namespace) -> int:
    from device_bridge.cli import main as bridge_main

    argv = ["--config", args.config, "--log-level", args.log_level] + (["--check"] if args.check else [])
    return bridge_main(argv)


def cmd_serve(args: argparse.Namespace) -> int:
    from api import workers as supervisor

    settings = Settings.from_env()
    if getattr(args, "worker", False):  # started by the supervisor below
        supervisor.serve_worker(settings)
        return 0
    workers = getattr(args, "workers", 1)
    refusal = workers_refusal(settings, workers)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    if workers > 1:
        return supervisor.supervise(settings, workers)
    _serve(settings)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from api.seed import seed_roles
    from records.db import Database
    from records.migrate import upgrade

    url = args.database_url or Settings.from_env().database_url
    upgrade(url)

    async def roles() -> None:
        db = Database(url)
        try:
            await seed_roles(db)
        finally:
            await db.dispose()

    asyncio.run(roles())
    print("database is at the latest revision; roles are loaded from policies/roles.csv")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    """First system administrator of a new installation; the password is read from stdin."""
    from api.seed import NewUser, seed_users
    from records.db import Database

    url = args.database_url or Settings.from_env().database_url
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("give a password of at least 12 characters on standard input", file=sys.stderr)
        return 2

    async def create() -> list[str]:
        db = Database(url)
        try:
            return await seed_users(db, [NewUser(args.username, args.display_name, ("system_admin",), password)])
        finally:
            await db.dispose()

    created = asyncio.run(create())
    print(f"created system administrator {args.username}" if created else f"{args.username} already exists")
    return 0 if created else 1


def _checkpoint_files(args: argparse.Namespace) -> tuple[Path | None, Path | None, Path]:
    """The organisation's key and certificate and the outside checkpoint file: arguments, else settings."""
    settings = Settings.from_env()
    key = Path(args.org_key) if getattr(args, "org_key", None) else settings.org_key
    cert = Path(args.org_cert) if getattr(args, "org_cert", None) else settings.org_cert
    file = Path(args.checkpoints) if getattr(args, "checkpoints", None) else settings.checkpoint_file()
    return key, cert, file


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    """Sign the audit chain's head now (IT-03), into the database and the outside file."""
    from records.db import Database
    from resolvers.checkpoints import Signer, write

    key, cert, file = _checkpoint_files(args)
    if key is None or cert is None:
        print("the organisation's key and certificate are needed (PLASMATWIN_ORG_KEY, PLASMATWIN_ORG_CERT or "
              "--org-key/--org-cert)", file=sys.stderr)
        return 2

    async def run() -> int:
        db = Database(args.database_url or Settings.from_env().database_url)
        try:
            line = await write(db, Signer(key.read_bytes(), cert.read_bytes(), file), args.reason)
        finally:
            await db.dispose()
        print(json.dumps(line or {"written": False, "why": "the audit trail is empty"}))
        return 0

    return asyncio.run(run())


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the store and write its manifest (counts, audit head, SHA-256, signed with the organisation's key)."""
    from resolvers.backup import BackupError, backup

    settings = Settings.from_env()
    key, cert = settings.org_key, settings.org_cert
    try:
        manifest = asyncio.run(backup(args.database_url or settings.database_url, Path(args.out), actor=args.actor,
                                      pg_bin=Path(args.pg_bin) if args.pg_bin else None,
                                      key_pem=key.read_bytes() if key else None,
                                      cert_pem=cert.read_bytes() if cert else None))
    except BackupError as exc:
        print(json.dumps({"ok": False, "problem": str(exc)}))
        return 1
    print(json.dumps({"ok": True, "manifest": str(manifest)}))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore a backup into an empty store; succeed only when counts, audit head, chain and signatures verify."""
    from resolvers.backup import BackupError, restore

    settings = Settings.from_env()
    try:
        report = asyncio.run(restore(Path(args.manifest), args.database_url or settings.database_url,
                                     actor=args.actor, pg_bin=Path(args.pg_bin) if args.pg_bin else None,
                                     cert_pem=settings.org_cert.read_bytes() if settings.org_cert else None))
    except BackupError as exc:
        print(json.dumps({"ok": False, "problems": [str(exc)]}))
        return 1
    print(json.dumps({"ok": report.ok, "tables": report.tables, "rows": report.rows,
                      "signatures": report.signatures, "problems": report.problems}))
    return 0 if report.ok else 1


def cmd_migrate_data(args: argparse.Namespace) -> int:
    """Move every record into an empty store of either kind; verified table by table, then audited."""
    from resolvers.backup import BackupError
    from resolvers.migrate_data import migrate

    def progress(table: str, done: int, total: int) -> None:
        if done == total or done % 10000 == 0:
            print(f"{table}: {done}/{total}", file=sys.stderr, flush=True)

    try:
        report = asyncio.run(migrate(args.source, args.target, reason=args.reason, actor=args.actor,
                                     progress=progress))
    except BackupError as exc:
        print(json.dumps({"ok": False, "problems": [str(exc)]}))
        return 1
    print(json.dumps({"ok": report.ok, "tables": len(report.tables),
                      "rows": sum(n for n, _ in report.tables.values()), "problems": report.problems}))
    return 0 if report.ok else 1


def cmd_archive_export(args: argparse.Namespace) -> int:
    """Every audited record (or those of --table) with its audit trail and signatures, under a signed manifest."""
    from records.db import Database
    from resolvers.archive import export
    from resolvers.backup import BackupError

    settings = Settings.from_env()
    key, cert = settings.org_key, settings.org_cert

    async def run() -> Path:
        db = Database(args.database_url or settings.database_url)
        try:
            return await export(db, Path(args.out), tables=args.table or None, actor=args.actor,
                                key_pem=key.read_bytes() if key else None, cert_pem=cert.read_bytes() if cert else None)
        finally:
            await db.dispose()

    try:
        manifest = asyncio.run(run())
    except BackupError as exc:
        print(json.dumps({"ok": False, "problems": [str(exc)]}))
        return 1
    print(json.dumps({"ok": True, "manifest": str(manifest)}))
    return 0


def cmd_archive_verify(args: argparse.Namespace) -> int:
    from resolvers.archive import verify

    _, cert, _ = _checkpoint_files(args)
    problems = verify(Path(args.directory), cert.read_bytes() if cert else None)
    print(json.dumps({"ok": not problems, "problems": problems}))
    return 0 if not problems else 1


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """The hash chain, the signed checkpoints of its head, then every audited row against its last audited
    values; one JSON line."""
    from records.audit_state import verify_store
    from records.db import Database
    from resolvers.checkpoints import CheckpointReport
    from resolvers.checkpoints import verify as verify_checkpoints

    url = args.database_url or Settings.from_env().database_url
    _, cert, file = _checkpoint_files(args)

    async def run() -> int:
        db = Database(url)
        try:
            report = await verify_store(db, keep=args.mismatches)
            marks = await verify_checkpoints(db, cert.read_bytes(), file) if cert is not None else None
        finally:
            await db.dispose()
        chain, state = report.chain, report.state
        cp = marks or CheckpointReport(problems=[])
        print(json.dumps({
            "checkpoints": {"checked": cp.checked, "newestHead": cp.newest_head, "problems": cp.problems,
                            "note": None if marks is not None else
                            "no organisation certificate: checkpoints not checked, a cut tail cannot be seen"},
            "ok": report.ok and cp.ok, "checked": chain.checked, "firstBrokenAt": chain.first_broken_at,
            "problem": report.problem, "rowsChecked": state.rows_checked, "stateOk": state.ok,
            "mismatchCount": state.mismatch_count,
            "mismatches": [{"entity": m.entity, "entityId": m.entity_id, "column": m.column, "audited": m.audited,
                            "current": m.current, "problem": m.problem} for m in state.mismatches],
        }))
        return 0 if report.ok and cp.ok else 1

    return asyncio.run(run())


def cmd_audit_evidence(args: argparse.Namespace) -> int:
    """The audit-evidence package of the store (resolvers/evidence.py) into a new directory; one JSON line."""
    from records.db import Database
    from resolvers.evidence import collect, save

    url = args.database_url or Settings.from_env().database_url
    _, cert, file = _checkpoint_files(args)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        print(json.dumps({"ok": False, "problems": [f"{out} is not empty: the package goes into a new directory"]}))
        return 1

    async def run() -> Any:
        db = Database(url)
        try:
            return await collect(db, events=args.events, org_cert=cert.read_bytes() if cert else None,
                                 checkpoint_file=file)
        finally:
            await db.dispose()

    evidence = asyncio.run(run())
    sums = save(evidence, out)
    print(json.dumps({"ok": evidence.ok, "directory": str(out), "files": sorted(sums)}))
    return 0 if evidence.ok else 1


def cmd_pki_init(args: argparse.Namespace) -> int:
    from demo.cli import pki_init

    return pki_init(args)


def cmd_sign(args: argparse.Namespace) -> int:
    """Print a ready SignatureInput for a mutation's $input (read from a JSON file or '-')."""
    from policies import pki
    from policies.signatures import make_payload

    raw = sys.stdin.read() if args.input == "-" else Path(args.input).read_text(encoding="utf-8")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        print(f"--input is not JSON: {exc}", file=sys.stderr)
        return 2
    if args.key:
        key_pem = Path(args.key).read_bytes()
        algorithm = args.algorithm
        if not algorithm:
            print("--algorithm is required with --key", file=sys.stderr)
            return 2
    else:
        from demo.cli import user_key

        try:
            key_pem, algorithm = user_key(Path(args.data_dir), args.user)
        except LookupError as exc:
            print(exc, file=sys.stderr)
            return 2
    if algorithm not in pki.ALGORITHMS:
        print(f"unknown algorithm {algorithm}", file=sys.stderr)
        return 2
    print(json.dumps(make_payload(key_pem, algorithm, args.user, args.operation, value, args.meaning)))
    return 0


def cmd_pki_revoke(args: argparse.Namespace) -> int:
    from demo.cli import pki_revoke

    return pki_revoke(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="plasmatwin", description="PlasmaTwin electronic records and live plant")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="migrate, seed and run the synthetic demo plant in one process")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.add_argument("--data-dir", default="./var/demo")
    d.set_defaults(func=cmd_demo)
    s = sub.add_parser("serve", help="run with settings from PLASMATWIN_* variables")
    s.add_argument("--workers", type=int, default=1,
                   help="worker processes on this host (above 1: needs the Redis bus and PostgreSQL)")
    s.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one of --workers N
    s.set_defaults(func=cmd_serve)
    b = sub.add_parser("bridge", help="run a device bridge (OPC UA / MQTT to the core) from a TOML file")
    b.add_argument("--config", required=True)
    b.add_argument("--check", action="store_true", help="check the file and the token variable, then exit")
    b.add_argument("--log-level", default="INFO")
    b.set_defaults(func=cmd_bridge)
    m = sub.add_parser("migrate", help="bring the database to the latest schema")
    m.add_argument("--database-url")
    m.set_defaults(func=cmd_migrate)
    c = sub.add_parser("create-admin", help="create the first system administrator (password on stdin)")
    c.add_argument("username")
    c.add_argument("--display-name", default="System Administrator")
    c.add_argument("--database-url")
    c.set_defaults(func=cmd_create_admin)
    a = sub.add_parser("audit", help="audit-trail tools")
    asub = a.add_subparsers(dest="audit_command", required=True)
    v = asub.add_parser("verify", help="recompute the audit hash chain and check every audited row against it")
    v.add_argument("--database-url")
    v.add_argument("--mismatches", type=int, default=20, help="how many row differences to print (default 20)")
    v.add_argument("--org-cert", help="the organisation's certificate (default PLASMATWIN_ORG_CERT)")
    v.add_argument("--checkpoints", help="the checkpoint file kept outside the database "
                                         "(default PLASMATWIN_AUDIT_CHECKPOINT_FILE or the data directory's)")
    v.set_defaults(func=cmd_audit_verify)
    ev = asub.add_parser("evidence", help="write the audit-evidence package: trail extract, verification, "
                                          "permissions, signatures, retention")
    ev.add_argument("--out", required=True, help="a new or empty directory")
    ev.add_argument("--database-url")
    ev.add_argument("--events", type=int, default=1000, help="how many of the newest audit events (default 1000)")
    ev.add_argument("--org-cert", help="the organisation's certificate (default PLASMATWIN_ORG_CERT)")
    ev.add_argument("--checkpoints", help="the checkpoint file kept outside the database")
    ev.set_defaults(func=cmd_audit_evidence)
    ck = asub.add_parser("checkpoint", help="sign the audit chain's head now (database and outside file)")
    ck.add_argument("--database-url")
    ck.add_argument("--org-key")
    ck.add_argument("--org-cert")
    ck.add_argument("--checkpoints")
    ck.add_argument("--reason", default="manual")
    ck.set_defaults(func=cmd_audit_checkpoint)
    b = sub.add_parser("backup", help="copy the store with a manifest of counts, audit head and SHA-256")
    b.add_argument("--database-url")
    b.add_argument("--out", required=True, help="the directory the copy and its manifest go to")
    b.add_argument("--actor", help="who runs it, for the audit trail (default: the OS user)")
    b.add_argument("--pg-bin", help="where pg_dump is, when not on PATH")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="restore a backup into an empty store and verify it")
    r.add_argument("manifest", help="the backup's .manifest.json")
    r.add_argument("--database-url")
    r.add_argument("--actor", help="who runs it, for the audit trail (default: the OS user)")
    r.add_argument("--pg-bin", help="where pg_restore is, when not on PATH")
    r.set_defaults(func=cmd_restore)
    m = sub.add_parser("migrate-data", help="move every record into an empty store (SQLite <-> PostgreSQL), verified")
    m.add_argument("--from", dest="source", required=True, help="the store's URL")
    m.add_argument("--to", dest="target", required=True, help="the empty target store's URL")
    m.add_argument("--reason", required=True, help="why, for the audit trail")
    m.add_argument("--actor", help="who runs it, for the audit trail (default: the OS user)")
    m.set_defaults(func=cmd_migrate_data)
    ar = sub.add_parser("archive", help="archives of GMP records with their audit trail and signatures")
    arsub = ar.add_subparsers(dest="archive_command", required=True)
    ae = arsub.add_parser("export", help="write every audited record into a new directory under a signed manifest")
    ae.add_argument("--database-url")
    ae.add_argument("--out", required=True)
    ae.add_argument("--table", action="append", help="only this table (repeatable)")
    ae.add_argument("--actor")
    ae.set_defaults(func=cmd_archive_export)
    av = arsub.add_parser("verify", help="check an archive's files and its manifest's signature")
    av.add_argument("directory")
    av.add_argument("--org-cert")
    av.set_defaults(func=cmd_archive_verify)
    k = sub.add_parser("pki", help="demo public-key infrastructure")
    ksub = k.add_subparsers(dest="pki_command", required=True)
    ki = ksub.add_parser("init", help="create the demo CA and a key and certificate per demo user")
    ki.add_argument("--dir", default="./var/demo/pki")
    ki.set_defaults(func=cmd_pki_init)
    kr = ksub.add_parser("revoke", help="revoke a user's certificate through the CRL")
    kr.add_argument("--user", required=True)
    kr.add_argument("--dir", default="./var/demo/pki")
    kr.set_defaults(func=cmd_pki_revoke)
    g = sub.add_parser("sign", help="print a SignatureInput JSON over a mutation's input")
    g.add_argument("--user", required=True)
    g.add_argument("--operation", required=True, help="the mutation's field name, e.g. setEquipmentStatus")
    g.add_argument("--input", required=True, help="JSON file holding the $input value, or - for stdin")
    g.add_argument("--meaning", default="PERFORMED")
    g.add_argument("--data-dir", default="./var/demo", help="where demo-users.json and the keys are")
    g.add_argument("--key", help="a PKCS#8 private key PEM instead of the demo user's")
    g.add_argument("--algorithm", help="ES256, RS256 or SM2_SM3 (with --key)")
    g.set_defaults(func=cmd_sign)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("casbin", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    from resolvers import identity

    env = Settings.from_env()  # every command that hashes a password uses the configured cost
    identity.configure_hashing(env.argon2_time_cost, env.argon2_memory_kib, env.argon2_parallelism)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
