"""post-guarantee management (issue 7, POST-1..4): repayment plans, inspections, classification, warnings

Tables: post_product_rule, post_repayment_plan, post_repayment, post_inspection_interval, post_inspection,
post_risk_state, post_classification, post_warning_rule, post_warning.

Revision ID: 0020
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0020"
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


def _guarantee(nullable=False, index=True):
    return sa.Column("guarantee_id", sa.Integer(), sa.ForeignKey("biz_guarantee.id", ondelete="CASCADE"),
                     nullable=nullable, index=index)


def upgrade():
    op.create_table(
        "post_product_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("biz_product.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("working_day_adjust", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("note", sa.String(200)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "post_repayment_plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        _guarantee(),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("effective_due", sa.Date(), nullable=False),
        sa.Column("principal", sa.Numeric(18, 2), nullable=False),
        sa.Column("interest", sa.Numeric(18, 2), nullable=False),
        sa.Column("paid_principal", sa.Numeric(18, 2), nullable=False),
        sa.Column("paid_interest", sa.Numeric(18, 2), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("settled_on", sa.Date()),
        sa.Column("method", sa.String(20)),
        sa.Column("source", sa.String(10), nullable=False),
        *_audit(),
        sa.UniqueConstraint("guarantee_id", "seq", name="uq_post_plan_seq"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_post_plan_open_due", "post_repayment_plan", ["settled", "effective_due"])
    op.create_table(
        "post_repayment",
        sa.Column("id", sa.Integer(), primary_key=True),
        _guarantee(),
        sa.Column("paid_on", sa.Date(), nullable=False, index=True),
        sa.Column("principal", sa.Numeric(18, 2), nullable=False),
        sa.Column("interest", sa.Numeric(18, 2), nullable=False),
        sa.Column("reference", sa.String(60)),
        sa.Column("note", sa.String(300)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "post_inspection_interval",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("basis", sa.String(20), nullable=False, unique=True),
        sa.Column("days", sa.Integer(), nullable=False),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "post_inspection",
        sa.Column("id", sa.Integer(), primary_key=True),
        _guarantee(),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("visit_date", sa.Date()),
        sa.Column("inspector_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("operations", sa.Text()),
        sa.Column("finances", sa.Text()),
        sa.Column("collateral_state", sa.Text()),
        sa.Column("repayment_source", sa.Text()),
        sa.Column("findings", sa.Text()),
        sa.Column("risk_signal", sa.String(10)),
        sa.Column("conclusion", sa.Text()),
        sa.Column("completed_at", sa.DateTime()),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_post_inspection_status_due", "post_inspection", ["status", "due_date"])
    op.create_table(
        "post_risk_state",
        sa.Column("guarantee_id", sa.Integer(), sa.ForeignKey("biz_guarantee.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("risk_class", sa.String(12), nullable=False, index=True),
        sa.Column("since", sa.Date()),
    )
    op.create_table(
        "post_classification",
        sa.Column("id", sa.Integer(), primary_key=True),
        _guarantee(),
        sa.Column("previous_class", sa.String(12)),
        sa.Column("proposed_class", sa.String(12), nullable=False),
        sa.Column("suggested_class", sa.String(12)),
        sa.Column("reason", sa.Text()),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date()),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "post_warning_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("params", sa.JSON()),
        sa.Column("note", sa.String(300)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "post_warning",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule_code", sa.String(40), nullable=False, index=True),
        sa.Column("cause_key", sa.String(200), nullable=False),
        sa.Column("open_flag", sa.Integer()),
        _guarantee(nullable=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("cus_customer.id"), index=True),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("ab_user.id"), index=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False, index=True),
        sa.Column("acknowledged_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("acknowledged_at", sa.DateTime()),
        sa.Column("ack_note", sa.String(500)),
        sa.Column("resolved_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("resolve_note", sa.String(500)),
        *_audit(),
        sa.UniqueConstraint("rule_code", "cause_key", "open_flag", name="uq_post_warning_open_cause"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_post_warning_status", "post_warning", ["status", "level"])


def downgrade():
    for table in ("post_warning", "post_warning_rule", "post_classification", "post_risk_state", "post_inspection",
                  "post_inspection_interval", "post_repayment", "post_repayment_plan", "post_product_rule"):
        op.drop_table(table)
