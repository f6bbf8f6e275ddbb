"""signing_session: re-authentication at signing (21 CFR 11.200(a)(1))

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-05 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import records.base

revision: str = '0052'
down_revision: str | None = '0051'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signing_session',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('second_person', sa.Boolean(), nullable=False),
    sa.Column('confirmed_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('active_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], name=op.f('fk_signing_session_token_id_api_token')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_signing_session_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_session'))
    )
    op.create_index(op.f('ix_signing_session_token_id'), 'signing_session', ['token_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_signing_session_token_id'), table_name='signing_session')
    op.drop_table('signing_session')
