"""oos_capa: OOS records, out-of-trend alerts and CAPA (QC-25, QC-26, QM-10)

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-05 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import records.base

revision: str = '0038'
down_revision: str | None = '0037'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('oos_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('opened_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject_code', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=True),
    sa.Column('sample_code', sa.String(length=32), nullable=True),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('item', sa.String(length=200), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('limits', sa.String(length=300), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('specification_code', sa.String(length=32), nullable=True),
    sa.Column('specification_version', sa.Integer(), nullable=True),
    sa.Column('analyst', sa.String(length=64), nullable=False),
    sa.Column('instrument', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=200), nullable=False),
    sa.Column('tested_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('test_result_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('phase1_by', sa.String(length=64), nullable=True),
    sa.Column('phase1_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('phase1_findings', sa.Text(), nullable=True),
    sa.Column('phase2_by', sa.String(length=64), nullable=True),
    sa.Column('phase2_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('phase2_findings', sa.Text(), nullable=True),
    sa.Column('conclusion', sa.String(length=12), nullable=True),
    sa.Column('assignable_cause', sa.Text(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('closed_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_oos_record_batch_id_batch')),
    sa.ForeignKeyConstraint(['test_result_id'], ['test_result.id'], name=op.f('fk_oos_record_test_result_id_test_result')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oos_record')),
    sa.UniqueConstraint('number', name=op.f('uq_oos_record_number')),
    sa.UniqueConstraint('source', name=op.f('uq_oos_record_source'))
    )
    op.create_index(op.f('ix_oos_record_batch_id'), 'oos_record', ['batch_id'], unique=False)
    op.create_index(op.f('ix_oos_record_status'), 'oos_record', ['status'], unique=False)
    op.create_index(op.f('ix_oos_record_subject_code'), 'oos_record', ['subject_code'], unique=False)
    op.create_index(op.f('ix_oos_record_test_result_id'), 'oos_record', ['test_result_id'], unique=False)
    op.create_table('oot_alert',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('specification_code', sa.String(length=32), nullable=False),
    sa.Column('item', sa.String(length=200), nullable=False),
    sa.Column('test_result_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('rules_version', sa.String(length=200), nullable=False),
    sa.Column('mean', sa.Float(), nullable=True),
    sa.Column('sigma', sa.Float(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('raised_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarm.id'], name=op.f('fk_oot_alert_alarm_id_alarm')),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_oot_alert_batch_id_batch')),
    sa.ForeignKeyConstraint(['test_result_id'], ['test_result.id'], name=op.f('fk_oot_alert_test_result_id_test_result')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oot_alert')),
    sa.UniqueConstraint('test_result_id', name=op.f('uq_oot_alert_test_result_id'))
    )
    op.create_index(op.f('ix_oot_alert_batch_id'), 'oot_alert', ['batch_id'], unique=False)
    op.create_index(op.f('ix_oot_alert_specification_code'), 'oot_alert', ['specification_code'], unique=False)
    op.create_table('capa',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('oos_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('deviation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_by', sa.String(length=64), nullable=True),
    sa.Column('done_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_note', sa.Text(), nullable=True),
    sa.Column('effectiveness', sa.String(length=16), nullable=True),
    sa.Column('checked_by', sa.String(length=64), nullable=True),
    sa.Column('checked_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('check_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['deviation_id'], ['deviation.id'], name=op.f('fk_capa_deviation_id_deviation')),
    sa.ForeignKeyConstraint(['oos_id'], ['oos_record.id'], name=op.f('fk_capa_oos_id_oos_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capa')),
    sa.UniqueConstraint('number', name=op.f('uq_capa_number'))
    )
    op.create_index(op.f('ix_capa_deviation_id'), 'capa', ['deviation_id'], unique=False)
    op.create_index(op.f('ix_capa_oos_id'), 'capa', ['oos_id'], unique=False)
    op.create_index(op.f('ix_capa_owner'), 'capa', ['owner'], unique=False)
    op.create_index(op.f('ix_capa_status'), 'capa', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_capa_status'), table_name='capa')
    op.drop_index(op.f('ix_capa_owner'), table_name='capa')
    op.drop_index(op.f('ix_capa_oos_id'), table_name='capa')
    op.drop_index(op.f('ix_capa_deviation_id'), table_name='capa')
    op.drop_table('capa')
    op.drop_index(op.f('ix_oot_alert_specification_code'), table_name='oot_alert')
    op.drop_index(op.f('ix_oot_alert_batch_id'), table_name='oot_alert')
    op.drop_table('oot_alert')
    op.drop_index(op.f('ix_oos_record_test_result_id'), table_name='oos_record')
    op.drop_index(op.f('ix_oos_record_subject_code'), table_name='oos_record')
    op.drop_index(op.f('ix_oos_record_status'), table_name='oos_record')
    op.drop_index(op.f('ix_oos_record_batch_id'), table_name='oos_record')
    op.drop_table('oos_record')
