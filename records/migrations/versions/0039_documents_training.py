"""documents_training

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-05 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import records.base

revision: str = '0039'
down_revision: str | None = '0038'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('change_request',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('impact', sa.Text(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('raised_by', sa.String(length=64), nullable=False),
    sa.Column('raised_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.Column('implemented_by', sa.String(length=64), nullable=True),
    sa.Column('implemented_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('implementation', sa.Text(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('closed_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closure', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_request')),
    sa.UniqueConstraint('number', name=op.f('uq_change_request_number'))
    )
    op.create_table('training_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('document_code', sa.String(length=32), nullable=False),
    sa.Column('document_version', sa.Integer(), nullable=False),
    sa.Column('trained_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('trainer', sa.String(length=64), nullable=False),
    sa.Column('assessment', sa.String(length=8), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('recorded_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_record'))
    )
    op.create_index(op.f('ix_training_record_document_code'), 'training_record', ['document_code'], unique=False)
    op.create_index(op.f('ix_training_record_username'), 'training_record', ['username'], unique=False)
    op.create_table('controlled_document',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('gmp', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('effective_key', sa.String(length=32), nullable=True),
    sa.Column('change_note', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), server_default='', nullable=False),
    sa.Column('attachment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('review_due', sa.Date(), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.Column('drafted_by', sa.String(length=64), nullable=False),
    sa.Column('drafted_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('approved_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('made_effective_by', sa.String(length=64), nullable=True),
    sa.Column('superseded_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=64), nullable=True),
    sa.Column('withdrawn_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], name=op.f('fk_controlled_document_attachment_id_attachment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_controlled_document')),
    sa.UniqueConstraint('code', 'version', name=op.f('uq_controlled_document_code_version')),
    sa.UniqueConstraint('effective_key', name=op.f('uq_controlled_document_effective_key'))
    )
    op.create_index(op.f('ix_controlled_document_category'), 'controlled_document', ['category'], unique=False)
    op.create_index(op.f('ix_controlled_document_code'), 'controlled_document', ['code'], unique=False)
    op.create_table('document_copy',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('copy_number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_by', sa.String(length=64), nullable=True),
    sa.Column('withdrawn_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('destroyed_by', sa.String(length=64), nullable=True),
    sa.Column('destroyed_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['controlled_document.id'], name=op.f('fk_document_copy_document_id_controlled_document')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_copy')),
    sa.UniqueConstraint('document_id', 'copy_number', name=op.f('uq_document_copy_document_id_copy_number'))
    )
    op.create_index(op.f('ix_document_copy_document_id'), 'document_copy', ['document_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_document_copy_document_id'), table_name='document_copy')
    op.drop_table('document_copy')
    op.drop_index(op.f('ix_controlled_document_code'), table_name='controlled_document')
    op.drop_index(op.f('ix_controlled_document_category'), table_name='controlled_document')
    op.drop_table('controlled_document')
    op.drop_index(op.f('ix_training_record_username'), table_name='training_record')
    op.drop_index(op.f('ix_training_record_document_code'), table_name='training_record')
    op.drop_table('training_record')
    op.drop_table('change_request')
