"""more_retention: plasma supply and every testing record kept 10 years, every record of a batch kept a year past its
expiry (IT-20, IT-21), beyond the tables of 0044

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-05 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0048'
down_revision: str | None = '0047'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the column the 10 years run from, what the message calls the records)
TEN_YEARS = [
    ("plasma_shipment", "submitted_at", "plasma supply records"),
    ("station_notice", "created_at", "plasma supply records"),
    ("sample", "taken_at", "testing records"),
    ("instrument_run", "imported_at", "testing records"),
    ("instrument_processing", "processed_at", "testing records"),
    ("pool_test_result", "tested_at", "testing records"),
    ("test_report", "prepared_at", "testing records"),
    ("oos_record", "opened_at", "testing records"),
]
# Records of a batch (batch_id): kept a year past its expiry; without a batch or an expiry date, for good.
OF_A_BATCH = ["deviation", "oot_alert", "packaging_record", "batch_review_item", "intermediate_movement",
              "equipment_log"]
BATCH = "(SELECT expiry_date FROM batch WHERE id = OLD.batch_id)"


def _rules() -> list[tuple[str, str, str, str]]:
    rules = [(t, f"OLD.{c} IS NULL OR OLD.{c} > datetime('now', '-10 years')",
              f"OLD.{c} IS NULL OR OLD.{c} > now() - interval '10 years'", f"{what} are kept 10 years")
             for t, c, what in TEN_YEARS]
    rules += [(t, f"{BATCH} IS NULL OR {BATCH} > date('now', '-1 year')",
               f"{BATCH} IS NULL OR {BATCH} > current_date - interval '1 year'",
               "the batch record is kept 1 year past the expiry date of the batch") for t in OF_A_BATCH]
    return rules


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, sqlite_when, pg_when, why in _rules():
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
    for table, *_ in _rules():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_retention" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_retention()")
