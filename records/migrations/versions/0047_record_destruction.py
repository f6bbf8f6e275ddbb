"""record_destruction: signed destruction of records whose retention ended, with tombstones (IT-20, IT-21)

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-05 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import records.base

revision: str = '0047'
down_revision: str | None = '0046'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "record_destruction is append-only"


def upgrade() -> None:
    op.create_table('record_destruction',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('destroyed_by', sa.String(length=64), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=False),
    sa.Column('destroyed_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tombstones', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_destruction'))
    )
    op.create_index(op.f('ix_record_destruction_table_name'), 'record_destruction', ['table_name'], unique=False)
    # The tombstones outlive what they stand for: nobody changes or removes them, as with the audit trail.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION record_destruction_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$""")
        op.execute("""CREATE TRIGGER record_destruction_no_change BEFORE UPDATE OR DELETE ON record_destruction
            FOR EACH ROW EXECUTE FUNCTION record_destruction_append_only()""")
        op.execute("""CREATE TRIGGER record_destruction_no_truncate BEFORE TRUNCATE ON record_destruction
            FOR EACH STATEMENT EXECUTE FUNCTION record_destruction_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER record_destruction_no_{event.lower()} BEFORE {event} ON record_destruction
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS record_destruction_no_truncate ON record_destruction")
        op.execute("DROP TRIGGER IF EXISTS record_destruction_no_change ON record_destruction")
        op.execute("DROP FUNCTION IF EXISTS record_destruction_append_only()")
    op.drop_index(op.f('ix_record_destruction_table_name'), table_name='record_destruction')
    op.drop_table('record_destruction')
