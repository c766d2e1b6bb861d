"""customer attachments, configurable fields, completeness rules

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-28 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0001'
branch_labels = None
depends_on = None


def _audit_columns():
    return [
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('ab_user.id'), nullable=True),
        sa.Column('updated_by_id', sa.Integer(), sa.ForeignKey('ab_user.id'), nullable=True),
    ]


def upgrade():
    op.create_table(
        'cus_attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('cus_customer.id'), nullable=False),
        sa.Column('record_type', sa.String(length=40), nullable=True),
        sa.Column('record_id', sa.Integer(), nullable=True),
        sa.Column('category', sa.String(length=50), nullable=False),
        sa.Column('description', sa.String(length=300), nullable=True),
        sa.Column('original_name', sa.String(length=255), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=120), nullable=False),
        sa.Column('extension', sa.String(length=10), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        *_audit_columns(),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('stored_name'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_attachment_customer_category', 'cus_attachment', ['customer_id', 'category'])
    op.create_index('ix_attachment_record', 'cus_attachment', ['record_type', 'record_id'])
    op.create_index(op.f('ix_cus_attachment_sha256'), 'cus_attachment', ['sha256'])

    op.create_table(
        'cus_field_def',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('label', sa.String(length=60), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('field_type', sa.String(length=10), nullable=False),
        sa.Column('dict_type', sa.String(length=50), nullable=True),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        *_audit_columns(),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
        sqlite_autoincrement=True,
    )
    op.create_table(
        'cus_completeness_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('item_type', sa.String(length=10), nullable=False),
        sa.Column('item_code', sa.String(length=50), nullable=False),
        sa.Column('weight', sa.Integer(), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        *_audit_columns(),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'item_type', 'item_code', name='uq_completeness_item'),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('cus_customer') as batch_op:
        batch_op.add_column(sa.Column('extra', sa.JSON(none_as_null=True), nullable=True))


def downgrade():
    with op.batch_alter_table('cus_customer') as batch_op:
        batch_op.drop_column('extra')
    op.drop_table('cus_completeness_rule')
    op.drop_table('cus_field_def')
    op.drop_index(op.f('ix_cus_attachment_sha256'), table_name='cus_attachment')
    op.drop_index('ix_attachment_record', table_name='cus_attachment')
    op.drop_index('ix_attachment_customer_category', table_name='cus_attachment')
    op.drop_table('cus_attachment')
