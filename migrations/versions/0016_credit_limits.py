"""credit limits (issue 6, RAT-3): rat_credit_limit

Only foreign keys to the foundation (cus_customer, ab_user): the rating and the product are kept as plain
ids, so this branch does not depend on the rating or the business branch.

Revision ID: 0016
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rat_credit_limit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(30), nullable=False, unique=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("cus_customer.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("product_id", sa.Integer(), index=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False, index=True),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("grade", sa.String(10)),
        sa.Column("rating_id", sa.Integer(), index=True),
        sa.Column("rule_amount", sa.Numeric(18, 2)),
        sa.Column("basis", sa.String(500)),
        sa.Column("proposed_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), index=True),
        sa.Column("granted_at", sa.DateTime()),
        sa.Column("decided_on", sa.Date()),
        sa.Column("superseded_by_id", sa.Integer(), index=True),
        sa.Column("ended_on", sa.Date()),
        sa.Column("end_reason", sa.String(500)),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_rat_credit_limit_customer_status", "rat_credit_limit", ["customer_id", "status"])


def downgrade():
    op.drop_index("ix_rat_credit_limit_customer_status", table_name="rat_credit_limit")
    op.drop_table("rat_credit_limit")
