"""Guarantee business (issue 4, BIZ-3..12): applications, counter-guarantee measures, fee plans and schedules,
fee receipts, contracts, stage documents and stage history.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _audit():
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
    ]


def _child(_table):
    return sa.Column("guarantee_id", sa.Integer(), sa.ForeignKey("biz_guarantee.id", ondelete="CASCADE"),
                     nullable=False, index=True)


def upgrade():
    op.create_table(
        "biz_guarantee",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(30), nullable=False, unique=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("cus_customer.id"), nullable=False, index=True),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("biz_product.id"), nullable=False, index=True),
        sa.Column("bank_id", sa.Integer(), sa.ForeignKey("biz_bank.id"), nullable=False, index=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("fee_rate", sa.Numeric(9, 6), nullable=False),
        sa.Column("purpose", sa.String(500)),
        sa.Column("repayment_method", sa.String(20)),
        sa.Column("green_channel", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("stage", sa.String(20), nullable=False, index=True),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("approval_status", sa.String(12), nullable=False, index=True),
        sa.Column("contract_status", sa.String(12), nullable=False, index=True),
        sa.Column("apply_date", sa.Date(), index=True),
        sa.Column("submitted_at", sa.DateTime()),
        sa.Column("stage_changed_at", sa.DateTime()),
        sa.Column("loan_number", sa.String(50)),
        sa.Column("loan_amount", sa.Numeric(18, 2)),
        sa.Column("loan_date", sa.Date(), index=True),
        sa.Column("due_date", sa.Date(), index=True),
        sa.Column("balance", sa.Numeric(18, 2), nullable=False),
        sa.Column("backfilled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("note", sa.Text()),
        sa.Column("manager_id", sa.Integer(), sa.ForeignKey("ab_user.id"), index=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("ab_user.id"), index=True),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("sys_department.id"), index=True),
        *_audit(),
        sa.Index("ix_guarantee_stage_status", "stage", "status"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "biz_counter_measure",
        sa.Column("id", sa.Integer(), primary_key=True),
        _child("biz_counter_measure"),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("guarantor_id", sa.Integer(), sa.ForeignKey("cus_customer.id"), index=True),
        sa.Column("description", sa.String(500)),
        sa.Column("value", sa.Numeric(18, 2)),
        sa.Column("collateral_id", sa.Integer()),
        sa.Column("registered", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("registered_on", sa.Date()),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "biz_fee_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        _child("biz_fee_item"),
        sa.Column("fee_type", sa.String(12), nullable=False),
        sa.Column("basis", sa.String(8), nullable=False),
        sa.Column("rate", sa.Numeric(9, 6)),
        sa.Column("amount", sa.Numeric(18, 2)),
        sa.Column("principal", sa.Numeric(18, 2)),
        sa.Column("frequency", sa.String(10), nullable=False),
        sa.Column("note", sa.String(200)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "biz_fee_schedule",
        sa.Column("id", sa.Integer(), primary_key=True),
        _child("biz_fee_schedule"),
        sa.Column("due_date", sa.Date(), nullable=False, index=True),
        sa.Column("fee_type", sa.String(12), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("period_from", sa.Date()),
        sa.Column("period_to", sa.Date()),
        sa.Column("received", sa.Numeric(18, 2), nullable=False),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "biz_fee_receipt",
        sa.Column("id", sa.Integer(), primary_key=True),
        _child("biz_fee_receipt"),
        sa.Column("schedule_id", sa.Integer(), sa.ForeignKey("biz_fee_schedule.id"), index=True),
        sa.Column("fee_type", sa.String(12), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(20)),
        sa.Column("reference", sa.String(60)),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("gl_business_event.id"), index=True),
        sa.Column("received_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "biz_contract",
        sa.Column("id", sa.Integer(), primary_key=True),
        _child("biz_contract"),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("measure_id", sa.Integer(), sa.ForeignKey("biz_counter_measure.id"), index=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("counterparty", sa.String(200)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("reviewed_at", sa.DateTime()),
        sa.Column("review_comment", sa.String(500)),
        sa.Column("signed_on", sa.Date()),
        sa.Column("start_date", sa.Date()),
        sa.Column("end_date", sa.Date()),
        sa.Column("note", sa.String(500)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "biz_stage_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        _child("biz_stage_document"),
        sa.Column("doc_type", sa.String(30), nullable=False),
        sa.Column("number", sa.String(40), index=True),
        sa.Column("doc_date", sa.Date()),
        sa.Column("content", sa.JSON()),
        *_audit(),
        sa.UniqueConstraint("guarantee_id", "doc_type", name="uq_stage_document_type"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "biz_stage_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        _child("biz_stage_history"),
        sa.Column("from_stage", sa.String(20)),
        sa.Column("to_stage", sa.String(20)),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("comment", sa.String(1000)),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("business_date", sa.Date()),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("backfilled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sqlite_autoincrement=True,
    )


def downgrade():
    for table in ("biz_stage_history", "biz_stage_document", "biz_contract", "biz_fee_receipt", "biz_fee_schedule",
                  "biz_fee_item", "biz_counter_measure", "biz_guarantee"):
        op.drop_table(table)
