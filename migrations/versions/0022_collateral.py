"""collateral (issue 7, COL-1..4): col_field_def, col_collateral, col_certificate, col_certificate_move,
col_valuation, col_monitoring

The link to the guarantee business is the existing column biz_counter_measure.collateral_id (kept without a
foreign key, as the business branch made it).

Revision ID: 0022
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0022"
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
        "col_field_def",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("label", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("field_type", sa.String(10), nullable=False),
        sa.Column("dict_type", sa.String(50)),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "col_collateral",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(30), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False, index=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("cus_customer.id"), nullable=False, index=True),
        sa.Column("owner_type", sa.String(12), nullable=False),
        sa.Column("owner_customer_id", sa.Integer(), sa.ForeignKey("cus_customer.id"), index=True),
        sa.Column("owner_name", sa.String(200), nullable=False, index=True),
        sa.Column("owner_id_number", sa.String(40)),
        sa.Column("location", sa.String(300)),
        sa.Column("description", sa.Text()),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("value", sa.Numeric(18, 2)),
        sa.Column("value_date", sa.Date()),
        sa.Column("max_mortgage_rate", sa.Numeric(9, 6)),
        sa.Column("insurance_company", sa.String(200)),
        sa.Column("insurance_policy", sa.String(60)),
        sa.Column("insurance_expiry", sa.Date(), index=True),
        sa.Column("monitor_months", sa.Integer()),
        sa.Column("next_monitor_date", sa.Date(), index=True),
        sa.Column("extra", sa.JSON()),
        sa.Column("note", sa.Text()),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_col_collateral_kind_status", "col_collateral", ["kind", "status"])
    op.create_table(
        "col_certificate",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("collateral_id", sa.Integer(), sa.ForeignKey("col_collateral.id"), nullable=False, index=True),
        sa.Column("cert_type", sa.String(60), nullable=False),
        sa.Column("number", sa.String(80), nullable=False, index=True),
        sa.Column("issuing_authority", sa.String(200)),
        sa.Column("registration_date", sa.Date()),
        sa.Column("mortgage_registration_number", sa.String(80), index=True),
        sa.Column("expiry_date", sa.Date(), index=True),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("vault_location", sa.String(100)),
        sa.Column("holder", sa.String(100)),
        sa.Column("due_back", sa.Date()),
        sa.Column("return_queued", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("return_queued_on", sa.Date()),
        sa.Column("note", sa.String(500)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_col_certificate_status_location", "col_certificate", ["status", "vault_location"])
    op.create_table(
        "col_certificate_move",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("certificate_id", sa.Integer(), sa.ForeignKey("col_certificate.id"), nullable=False, index=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("purpose", sa.String(20)),
        sa.Column("reason", sa.String(500)),
        sa.Column("recipient", sa.String(100)),
        sa.Column("due_back", sa.Date()),
        sa.Column("location", sa.String(100)),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("requested_on", sa.Date()),
        sa.Column("done_on", sa.Date()),
        sa.Column("decided_at", sa.DateTime()),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "col_valuation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("collateral_id", sa.Integer(), sa.ForeignKey("col_collateral.id"), nullable=False, index=True),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("valuation_date", sa.Date(), nullable=False),
        sa.Column("value", sa.Numeric(18, 2), nullable=False),
        sa.Column("previous_value", sa.Numeric(18, 2)),
        sa.Column("method", sa.String(60)),
        sa.Column("report_number", sa.String(60)),
        sa.Column("note", sa.String(500)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "col_monitoring",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("collateral_id", sa.Integer(), sa.ForeignKey("col_collateral.id"), nullable=False, index=True),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("condition", sa.String(12), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("estimated_value", sa.Numeric(18, 2)),
        sa.Column("next_date", sa.Date()),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        *_audit(),
        sqlite_autoincrement=True,
    )
    # The coverage check joins the measures by collateral.
    op.create_index("ix_biz_counter_measure_collateral", "biz_counter_measure", ["collateral_id"])


def downgrade():
    op.drop_index("ix_biz_counter_measure_collateral", table_name="biz_counter_measure")
    op.drop_table("col_monitoring")
    op.drop_table("col_valuation")
    op.drop_table("col_certificate_move")
    op.drop_index("ix_col_certificate_status_location", table_name="col_certificate")
    op.drop_table("col_certificate")
    op.drop_index("ix_col_collateral_kind_status", table_name="col_collateral")
    op.drop_table("col_collateral")
    op.drop_table("col_field_def")
