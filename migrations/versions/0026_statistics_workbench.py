"""workbench and statistics (issue 8, WB-1, STAT-3): wb_quick_module, reg_weight_rule, reg_asset_class,
reg_snapshot

Revision ID: 0026
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0026"
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
        "wb_quick_module",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("menu_name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.UniqueConstraint("user_id", "menu_name", name="uq_wb_quick_module"),
    )
    op.create_table(
        "reg_weight_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(30), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("guarantee_kinds", sa.String(200)),
        sa.Column("customer_kind", sa.String(12)),
        sa.Column("enterprise_sizes", sa.String(50)),
        sa.Column("household_types", sa.String(50)),
        sa.Column("product_codes", sa.String(500)),
        sa.Column("issuer_grades", sa.String(100)),
        sa.Column("balance_cap", sa.Numeric(18, 2)),
        sa.Column("weight", sa.Numeric(9, 4), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("note", sa.String(300)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "reg_asset_class",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_code", sa.String(20), nullable=False, unique=True),
        sa.Column("asset_class", sa.String(10), nullable=False),
        sa.Column("note", sa.String(200)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "reg_snapshot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period", sa.String(7), nullable=False, unique=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("computed_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("worst_status", sa.String(12), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
    )


def downgrade():
    op.drop_table("reg_snapshot")
    op.drop_table("reg_asset_class")
    op.drop_table("reg_weight_rule")
    op.drop_table("wb_quick_module")
