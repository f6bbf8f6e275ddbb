"""Alembic, driven from code: the migration scripts live in records/migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    # ConfigParser interpolation would eat '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations disagree (alembic check)."""
    command.check(config(url))


def _self_check() -> None:
    """`python -m records.migrate`: upgrade a scratch SQLite database and run alembic check on it."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite+aiosqlite:///{d}/check.db"
        upgrade(url)
        check(url)
    print("alembic check: models and migrations agree")


if __name__ == "__main__":
    _self_check()
