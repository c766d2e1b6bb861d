"""customer financial statements

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-28 13:11:00.472184

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cus_fin_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('period_type', sa.String(length=10), nullable=False),
    sa.Column('audited', sa.Boolean(), nullable=False),
    sa.Column('auditor', sa.String(length=100), nullable=True),
    sa.Column('currency_unit', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['cus_customer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_id', 'period_end', 'period_type', name='uq_fin_statement_period'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('cus_fin_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cus_fin_statement_customer_id'), ['customer_id'], unique=False)

    op.create_table('cus_fin_statement_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['cus_fin_statement.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('statement_id', 'item_code', name='uq_fin_statement_item')
    )


def downgrade():
    op.drop_table('cus_fin_statement_item')
    with op.batch_alter_table('cus_fin_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cus_fin_statement_customer_id'))
    op.drop_table('cus_fin_statement')
