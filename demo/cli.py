"""The demo's commands: `plasmatwin demo`, `plasmatwin pki init|revoke`, and the demo users' keys
for `plasmatwin sign`. api/cli.py declares their arguments and imports this module only when one of
them runs, so `serve` and `migrate` never load demo code."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path

from api.settings import Settings
from demo import ca
from demo.plant import DEMO_USERS, key_persons


def demo(args: argparse.Namespace) -> int:
    # Here, not at the top: `pki` and `sign` need none of the server.
    from api.app import static_dir
    from api.cli import serve_app
    from demo import setup
    from demo.live import demo_app
    from records.db import Database

    data_dir = Path(args.data_dir)
    url = setup.migrate_demo(data_dir)
    users, _ = setup.prepare_files(data_dir)
    org_key, org_cert = setup.org_files(data_dir)
    pki, outside = data_dir / "pki", data_dir / "pki" / ca.THIRD_PARTY
    settings = replace(Settings.from_env(), database_url=url, host=args.host, port=args.port,
                       data_dir=data_dir, trust_anchors=pki / "ca.pem", third_party_anchors=outside / "ca.pem",
                       crl_files=(pki / "crl.pem", outside / "crl.pem"), org_key=org_key, org_cert=org_cert)

    async def seed() -> None:
        db = Database(url)
        try:
            await setup.seed_all(db, users)
            await setup.seed_recipes(settings, db, data_dir)
        finally:
            await db.dispose()

    asyncio.run(seed())
    base = f"http://{args.host}:{args.port}"
    ui = f"{base}/" if (static_dir(settings) / "index.html").exists() else \
        "not in this build yet (the root page points to the API)"
    print(f"""
PlasmaTwin demo plant is starting.
  Browser UI : {ui}
  GraphQL    : {base}/graphql
  Users      : {data_dir / 'demo-users.json'} (usernames, passwords, keys)
Sign in, for example:
  curl -s {base}/graphql -H 'content-type: application/json' \\
    -d '{{"query":"mutation($u:String!,$p:String!){{signIn(username:$u,password:$p){{token expiresAt}}}}",
         "variables":{{"u":"{users[0].username}","p":"<password from demo-users.json>"}}}}'
""", flush=True)
    serve_app(demo_app(settings, data_dir), settings)
    return 0


def pki_init(args: argparse.Namespace) -> int:
    keys = ca.write_pki(Path(args.dir), [(u.username, u.display_name, u.algorithm) for u in DEMO_USERS],
                        third_party=key_persons())
    for name, key in keys.items():
        print(f"{name}\t{key.algorithm}\t{key.fingerprint}")
    return 0


def pki_revoke(args: argparse.Namespace) -> int:
    try:
        path = ca.revoke(Path(args.dir), args.user)
    except (FileNotFoundError, LookupError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"revoked the certificate of {args.user}; CRL written to {path} (the server re-reads it on change)")
    return 0


def user_key(data_dir: Path, user: str) -> tuple[bytes, str]:
    """A demo user's private key PEM and algorithm, from DIR/demo-users.json; LookupError if not there."""
    listing = data_dir / "demo-users.json"
    if not listing.is_file():
        raise LookupError(f"no demo users in {data_dir} ({listing.name} is missing): pass the demo's directory "
                          f"with --data-dir (`plasmatwin demo --data-dir DIR` writes it), or your own key with "
                          f"--key FILE --algorithm ALG")
    users = {u["username"]: u for u in json.loads(listing.read_text())}
    if user not in users:
        raise LookupError(f"{user} is not in {listing}; its users: {', '.join(sorted(users))}")
    key = data_dir / users[user]["privateKey"]
    if not key.is_file():
        raise LookupError(f"{user}'s private key {key} is missing")
    return key.read_bytes(), users[user]["algorithm"]
