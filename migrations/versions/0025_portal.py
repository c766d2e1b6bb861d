"""online financing portal (issue 10, PORTAL-1/2): ptl_company, ptl_need, ptl_notice

Revision ID: 0025
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0025"
down_revision = "0017"
branch_labels = None
depends_on = None


def _audit():
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
    ]


def upgrade():
    op.create_table(
        "ptl_company",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False, index=True),
        sa.Column("contact_name", sa.String(50), nullable=False),
        sa.Column("contact_phone", sa.String(30), nullable=False),
        sa.Column("email", sa.String(120), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reject_reason", sa.String(500)),
        sa.Column("verified_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("verified_at", sa.DateTime()),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("cus_customer.id"), index=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ptl_company_status", "ptl_company", ["status", "id"])
    op.create_table(
        "ptl_need",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("company_id", sa.Integer(), sa.ForeignKey("ptl_company.id"), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("cus_customer.id"), nullable=False, index=True),
        sa.Column("guarantee_id", sa.Integer(), sa.ForeignKey("biz_guarantee.id"), nullable=False, unique=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("bank_id", sa.Integer(), sa.ForeignKey("biz_bank.id"), nullable=False),
        sa.Column("documents_requested", sa.String(500)),
        sa.Column("accepted_at", sa.DateTime()),
        sa.Column("accepted_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ptl_need_company", "ptl_need", ["company_id", "id"])
    op.create_table(
        "ptl_notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("company_id", sa.Integer(), sa.ForeignKey("ptl_company.id"), nullable=False),
        sa.Column("need_id", sa.Integer(), sa.ForeignKey("ptl_need.id")),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("key", sa.String(80)),
        sa.Column("message", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("company_id", "key", name="uq_ptl_notice_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ptl_notice_company", "ptl_notice", ["company_id", "id"])


def downgrade():
    op.drop_index("ix_ptl_notice_company", table_name="ptl_notice")
    op.drop_table("ptl_notice")
    op.drop_index("ix_ptl_need_company", table_name="ptl_need")
    op.drop_table("ptl_need")
    op.drop_index("ix_ptl_company_status", table_name="ptl_company")
    op.drop_table("ptl_company")
