"""`plasmatwin demo`'s data directory: the database, the synthetic plant, its users and their keys.

Passwords are random per data directory and written to DIR/demo-users.json; re-running on the
same directory keeps the database, the PKI and the passwords.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from api.app import build_services, create_app
from api.seed import NewUser, seed_roles, seed_users
from api.settings import Settings
from demo import ca, population
from demo.actors import Actors
from demo.cameras import seed_demo_cameras
from demo.documents import seed_documents
from demo.plant import DEMO_PLANT, DEMO_USERS, key_persons
from demo.recipes import RECIPES
from demo.seed import new_password, seed_plant, seed_stations
from records.db import Database
from records.migrate import upgrade
from records.readings import STORE_EVERY_KEY
from records.recipe import Recipe

ORG_KEY_NAME = "organisation"


def org_files(data_dir: Path) -> tuple[Path, Path]:
    users = data_dir / "pki" / "users"
    return users / f"{ORG_KEY_NAME}.key.pem", users / f"{ORG_KEY_NAME}.cert.pem"


def database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'plasmatwin.db').resolve()}"


def prepare_files(data_dir: Path) -> tuple[list[NewUser], list[dict[str, Any]]]:
    """Create the PKI and pick passwords (keeping earlier ones); returns users and the JSON entries."""
    data_dir.mkdir(parents=True, exist_ok=True)
    users_file = data_dir / "demo-users.json"
    old = {u["username"]: u for u in json.loads(users_file.read_text())} if users_file.exists() else {}
    keys = ca.write_pki(data_dir / "pki", [(u.username, u.display_name, u.algorithm) for u in DEMO_USERS],
                        third_party=key_persons())
    # The organisation's own signing key for release documents (not a user: no demo-users.json entry).
    ca.write_pki(data_dir / "pki", [(ORG_KEY_NAME, DEMO_PLANT.site_name, "ES256")])
    users, entries = [], []
    for spec in DEMO_USERS:
        password = old.get(spec.username, {}).get("password") or new_password()
        key = keys[spec.username]
        users.append(NewUser(spec.username, spec.display_name, spec.roles, password, key, spec.organisation))
        entries.append({
            "username": spec.username,
            "displayName": spec.display_name,
            "password": password,
            "roles": list(spec.roles),
            "algorithm": spec.algorithm,
            "privateKey": f"pki/users/{spec.username}.key.pem",
            "certificate": f"pki/users/{spec.username}.cert.pem",
        })
    tmp = users_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(users_file)
    return users, entries


async def seed_all(db: Database, users: list[NewUser]) -> None:
    await seed_roles(db)
    await seed_plant(db, DEMO_PLANT)
    await seed_demo_cameras(db)
    await seed_stations(db)
    await population.generate(db, progress=lambda msg: print(f"  synthetic population: {msg}", flush=True))
    await seed_users(db, users)


async def seed_recipes(settings: Settings, db: Database, data_dir: Path) -> None:
    """The master recipes, drafted by the supervisor, reviewed and approved by two QA officers through the
    API (once: a data directory that has them keeps them)."""
    async with db.read() as s:
        if (await s.execute(select(Recipe.id).limit(1))).first() is not None:
            return
    app = create_app(settings, build_services(settings, db))
    async with Actors(app, data_dir) as people:
        # The demo's tags read once a second; one stored reading per tag per 10 s outside excursions keeps
        # its database small (a plant validates its own interval: resolvers/settings.py, twin/recorder.py).
        await people.signed("adm.lin", "setSetting", {"key": STORE_EVERY_KEY, "value": 10, "reason":
                            "demo: store a steady tag every 10 s; excursions and quality changes reading by reading"},
                            answer="")
        await seed_documents(people)  # the SOPs the recipes' phases are carried out under, and their training
        for recipe in RECIPES:
            decision = {"code": recipe["code"], "version": 1, "comment": "checked against the process procedure"}
            await people.signed("sup.zhao", "draftRecipe", recipe)
            await people.signed("qa.li", "reviewRecipe", decision, "REVIEWED", input_type="RecipeDecisionInput")
            await people.signed("qa.zheng", "approveRecipe", decision, "APPROVED", input_type="RecipeDecisionInput")
            print(f"  master recipe {recipe['code']} approved", flush=True)


def migrate_demo(data_dir: Path) -> str:
    url = database_url(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    return url
