"""office requests and business-data corrections (issue 9, WB-4, OA-1, SYS-10): oa_request, oa_repayment,
sys_data_correction

Revision ID: 0024
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0024"
down_revision = "0017"
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
        "oa_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(30), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("requester_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False, index=True),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("sys_department.id"), index=True),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("request_date", sa.Date(), nullable=False),
        sa.Column("leave_type", sa.String(20)),
        sa.Column("date_from", sa.Date()),
        sa.Column("date_to", sa.Date()),
        sa.Column("days", sa.Numeric(6, 1)),
        sa.Column("amount", sa.Numeric(18, 2)),
        sa.Column("expense_type", sa.String(20)),
        sa.Column("invoice_count", sa.Integer()),
        sa.Column("offset_borrowing_id", sa.Integer(), sa.ForeignKey("oa_request.id"), index=True),
        sa.Column("outstanding", sa.Numeric(18, 2)),
        sa.Column("decided_on", sa.Date()),
        sa.Column("paid_on", sa.Date()),
        sa.Column("paid_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("paid_amount", sa.Numeric(18, 2)),
        sa.Column("offset_amount", sa.Numeric(18, 2)),
        sa.Column("bank_account", sa.String(60)),
        sa.Column("payment_event_id", sa.Integer(), sa.ForeignKey("gl_business_event.id")),
        sa.Column("offset_event_id", sa.Integer(), sa.ForeignKey("gl_business_event.id")),
        sa.Column("note", sa.Text()),
        *_audit_columns(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_oa_request_requester_kind", "oa_request", ["requester_id", "kind"])
    op.create_index("ix_oa_request_kind_status", "oa_request", ["kind", "status"])
    op.create_table(
        "oa_repayment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("borrowing_id", sa.Integer(), sa.ForeignKey("oa_request.id"), nullable=False, index=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("received_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("bank_account", sa.String(60)),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("gl_business_event.id")),
        sa.Column("note", sa.String(200)),
        *_audit_columns(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sys_data_correction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("action", sa.String(20), nullable=False, index=True),
        sa.Column("target_type", sa.String(30), nullable=False),
        sa.Column("target_id", sa.Integer(), index=True),
        sa.Column("target_code", sa.String(60)),
        sa.Column("before", sa.String(200)),
        sa.Column("after", sa.String(200)),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("details", sa.JSON()),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id"), index=True),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
        *_audit_columns(),
        sqlite_autoincrement=True,
    )


def downgrade():
    op.drop_table("sys_data_correction")
    op.drop_table("oa_repayment")
    op.drop_index("ix_oa_request_kind_status", table_name="oa_request")
    op.drop_index("ix_oa_request_requester_kind", table_name="oa_request")
    op.drop_table("oa_request")
