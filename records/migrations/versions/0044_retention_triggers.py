"""retention_triggers: GMP records cannot be deleted before their retention period ends (IT-20, IT-21)

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0044'
down_revision: str | None = '0043'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, SQLite condition under which a DELETE is refused, PostgreSQL condition, what the message says)
TEN = "10 years"
BATCH = "(SELECT expiry_date FROM batch WHERE id = OLD.batch_id)"
RULES = [
    ("plasma_unit", "OLD.collected_on > date('now', '-10 years')",
     "OLD.collected_on > current_date - interval '10 years'", "plasma collection records are kept 10 years"),
    ("retest_result", "OLD.tested_at > datetime('now', '-10 years')",
     "OLD.tested_at > now() - interval '10 years'", "plasma testing records are kept 10 years"),
    ("test_record", "OLD.created_at > datetime('now', '-10 years')",
     "OLD.created_at > now() - interval '10 years'", "testing records are kept 10 years"),
    ("test_result", "OLD.entered_at > datetime('now', '-10 years')",
     "OLD.entered_at > now() - interval '10 years'", "testing records are kept 10 years"),
    ("batch", "OLD.expiry_date IS NULL OR OLD.expiry_date > date('now', '-1 year')",
     "OLD.expiry_date IS NULL OR OLD.expiry_date > current_date - interval '1 year'",
     "the batch record is kept 1 year past the expiry date of the batch"),
]
RULES += [(t, f"{BATCH} IS NULL OR {BATCH} > date('now', '-1 year')",
           f"{BATCH} IS NULL OR {BATCH} > current_date - interval '1 year'",
           "the batch record is kept 1 year past the expiry date of the batch")
          for t in ("phase_run", "weighing", "intermediate", "line_clearance", "batch_review", "release_document")]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, sqlite_when, pg_when, why in RULES:
        message = f"retention: {why} ({table})"
        if postgres:
            op.execute(f"""CREATE FUNCTION {table}_retention() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF {pg_when} THEN RAISE EXCEPTION '{message}'; END IF; RETURN OLD; END $$""")
            op.execute(f"""CREATE TRIGGER {table}_retention BEFORE DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_retention()""")
            op.execute(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""")
        else:
            op.execute(f"""CREATE TRIGGER {table}_retention BEFORE DELETE ON {table}
                WHEN {sqlite_when} BEGIN SELECT RAISE(ABORT, '{message}'); END""")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, *_ in RULES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_retention" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_retention()")
