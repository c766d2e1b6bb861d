"""post-guarantee settlement (issue 7, POST-5..9): compensation, recovery, foreclosed assets, release,
extension, early repayment, fee refund rules (pst_*)

Foreign keys only to tables of main (biz_*, cus_customer, gl_business_event, ab_user) and this revision; the
collateral register of the parallel branch is referenced by a plain id.

Revision ID: 0021
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0021"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pst_compensation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('demand_date', sa.Date(), nullable=False),
    sa.Column('demand_reference', sa.String(length=60), nullable=True),
    sa.Column('principal', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('interest', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('penalty', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('applied_by_id', sa.Integer(), nullable=True),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('paid_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('payment_reference', sa.String(length=60), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('recovered_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['applied_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['bank_id'], ['biz_bank.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['cus_customer.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['gl_business_event.id'], ),
    sa.ForeignKeyConstraint(['guarantee_id'], ['biz_guarantee.id'], ),
    sa.ForeignKeyConstraint(['paid_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sqlite_autoincrement=True
    )
    op.create_table('pst_recovery_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('compensation_id', sa.Integer(), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.Column('target_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('applied_by_id', sa.Integer(), nullable=True),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('close_note', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['applied_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['compensation_id'], ['pst_compensation.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['cus_customer.id'], ),
    sa.ForeignKeyConstraint(['guarantee_id'], ['biz_guarantee.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sqlite_autoincrement=True
    )
    op.create_table('pst_recovery_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('payer', sa.String(length=200), nullable=True),
    sa.Column('principal', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('interest', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('costs', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['pst_recovery_case.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['gl_business_event.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    op.create_table('pst_legal_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('action_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('court', sa.String(length=200), nullable=True),
    sa.Column('case_number', sa.String(length=60), nullable=True),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['pst_recovery_case.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    op.create_table('pst_foreclosed_asset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=True),
    sa.Column('compensation_id', sa.Integer(), nullable=True),
    sa.Column('collateral_id', sa.Integer(), nullable=True),
    sa.Column('acquired_on', sa.Date(), nullable=False),
    sa.Column('book_value', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('current_value', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('disposed_on', sa.Date(), nullable=True),
    sa.Column('disposal_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('gain_loss', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('buyer', sa.String(length=200), nullable=True),
    sa.Column('acquisition_event_id', sa.Integer(), nullable=True),
    sa.Column('disposal_event_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acquisition_event_id'], ['gl_business_event.id'], ),
    sa.ForeignKeyConstraint(['compensation_id'], ['pst_compensation.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['cus_customer.id'], ),
    sa.ForeignKeyConstraint(['disposal_event_id'], ['gl_business_event.id'], ),
    sa.ForeignKeyConstraint(['guarantee_id'], ['biz_guarantee.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sqlite_autoincrement=True
    )
    op.create_table('pst_foreclosed_valuation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('valued_on', sa.Date(), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('agency', sa.String(length=200), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['pst_foreclosed_asset.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    op.create_table('pst_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=False),
    sa.Column('released_on', sa.Date(), nullable=False),
    sa.Column('bank_confirmation', sa.String(length=60), nullable=False),
    sa.Column('margin_held', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('margin_refund', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('certificates_queued', sa.Integer(), nullable=False),
    sa.Column('statement', sa.JSON(), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['gl_business_event.id'], ),
    sa.ForeignKeyConstraint(['guarantee_id'], ['biz_guarantee.id'], ),
    sa.ForeignKeyConstraint(['released_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('guarantee_id'),
    sqlite_autoincrement=True
    )
    op.create_table('pst_extension',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('old_due_date', sa.Date(), nullable=False),
    sa.Column('new_due_date', sa.Date(), nullable=False),
    sa.Column('fee_rate', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('fee_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('applied_by_id', sa.Integer(), nullable=True),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['applied_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['guarantee_id'], ['biz_guarantee.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sqlite_autoincrement=True
    )
    op.create_table('pst_early_repayment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=False),
    sa.Column('repaid_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('balance_before', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('balance_after', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('fee_refund', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('refund_basis', sa.String(length=500), nullable=True),
    sa.Column('plan_rows', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['guarantee_id'], ['biz_guarantee.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    op.create_table('pst_fee_refund_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('ratio', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('min_days', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['biz_product.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('product_id'),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_pst_compensation_bank_id'), 'pst_compensation', ['bank_id'], unique=False)
    op.create_index(op.f('ix_pst_compensation_customer_id'), 'pst_compensation', ['customer_id'], unique=False)
    op.create_index(op.f('ix_pst_compensation_event_id'), 'pst_compensation', ['event_id'], unique=False)
    op.create_index(op.f('ix_pst_compensation_guarantee_id'), 'pst_compensation', ['guarantee_id'], unique=False)
    op.create_index(op.f('ix_pst_compensation_paid_on'), 'pst_compensation', ['paid_on'], unique=False)
    op.create_index(op.f('ix_pst_compensation_status'), 'pst_compensation', ['status'], unique=False)
    op.create_index(op.f('ix_pst_recovery_case_compensation_id'), 'pst_recovery_case', ['compensation_id'], unique=False)
    op.create_index(op.f('ix_pst_recovery_case_customer_id'), 'pst_recovery_case', ['customer_id'], unique=False)
    op.create_index(op.f('ix_pst_recovery_case_guarantee_id'), 'pst_recovery_case', ['guarantee_id'], unique=False)
    op.create_index(op.f('ix_pst_recovery_case_status'), 'pst_recovery_case', ['status'], unique=False)
    op.create_index(op.f('ix_pst_recovery_receipt_case_id'), 'pst_recovery_receipt', ['case_id'], unique=False)
    op.create_index(op.f('ix_pst_recovery_receipt_event_id'), 'pst_recovery_receipt', ['event_id'], unique=False)
    op.create_index(op.f('ix_pst_recovery_receipt_received_on'), 'pst_recovery_receipt', ['received_on'], unique=False)
    op.create_index(op.f('ix_pst_legal_action_case_id'), 'pst_legal_action', ['case_id'], unique=False)
    op.create_index(op.f('ix_pst_foreclosed_asset_collateral_id'), 'pst_foreclosed_asset', ['collateral_id'], unique=False)
    op.create_index(op.f('ix_pst_foreclosed_asset_compensation_id'), 'pst_foreclosed_asset', ['compensation_id'], unique=False)
    op.create_index(op.f('ix_pst_foreclosed_asset_customer_id'), 'pst_foreclosed_asset', ['customer_id'], unique=False)
    op.create_index(op.f('ix_pst_foreclosed_asset_guarantee_id'), 'pst_foreclosed_asset', ['guarantee_id'], unique=False)
    op.create_index(op.f('ix_pst_foreclosed_asset_status'), 'pst_foreclosed_asset', ['status'], unique=False)
    op.create_index(op.f('ix_pst_foreclosed_valuation_asset_id'), 'pst_foreclosed_valuation', ['asset_id'], unique=False)
    op.create_index(op.f('ix_pst_release_released_on'), 'pst_release', ['released_on'], unique=False)
    op.create_index(op.f('ix_pst_extension_guarantee_id'), 'pst_extension', ['guarantee_id'], unique=False)
    op.create_index(op.f('ix_pst_extension_status'), 'pst_extension', ['status'], unique=False)
    op.create_index(op.f('ix_pst_early_repayment_guarantee_id'), 'pst_early_repayment', ['guarantee_id'], unique=False)


def downgrade():
    # dropping a table drops its indexes
    op.drop_table('pst_fee_refund_rule')
    op.drop_table('pst_early_repayment')
    op.drop_table('pst_extension')
    op.drop_table('pst_release')
    op.drop_table('pst_foreclosed_valuation')
    op.drop_table('pst_foreclosed_asset')
    op.drop_table('pst_legal_action')
    op.drop_table('pst_recovery_receipt')
    op.drop_table('pst_recovery_case')
    op.drop_table('pst_compensation')
