"""guarantee products and cooperating banks (issue 4, BIZ-1, BIZ-2)

Revision ID: 0010
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def _audit_columns():
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
    ]


def upgrade():
    op.create_table(
        "biz_product",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=30), nullable=False, unique=True),
        sa.Column("name", sa.String(length=100), nullable=False, unique=True),
        sa.Column("guarantee_kind", sa.String(length=50), nullable=False),
        sa.Column("amount_min", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("amount_max", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("term_min", sa.Integer(), nullable=False),
        sa.Column("term_max", sa.Integer(), nullable=False),
        sa.Column("fee_rate_min", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("fee_rate_max", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("counter_kinds", sa.JSON(), nullable=True),
        sa.Column("flow_code", sa.String(length=50), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        *_audit_columns(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_biz_product_guarantee_kind", "biz_product", ["guarantee_kind"])
    op.create_table(
        "biz_bank",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=30), nullable=False, unique=True),
        sa.Column("name", sa.String(length=100), nullable=False, unique=True),
        sa.Column("total_line", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("single_cap", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("margin_ratio", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("risk_share_ratio", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("contact_person", sa.String(length=50), nullable=True),
        sa.Column("contact_phone", sa.String(length=30), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        *_audit_columns(),
        sqlite_autoincrement=True,
    )


def downgrade():
    op.drop_table("biz_bank")
    op.drop_index("ix_biz_product_guarantee_kind", table_name="biz_product")
    op.drop_table("biz_product")
