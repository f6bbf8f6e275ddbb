"""pool_samples: a sample may be taken of a production pool (QC-13)

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-05 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0046'
down_revision: str | None = '0045'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pool_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_sample_pool_id'), ['pool_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sample_pool_id_pool'), 'pool', ['pool_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sample_pool_id_pool'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sample_pool_id'))
        batch_op.drop_column('pool_id')
