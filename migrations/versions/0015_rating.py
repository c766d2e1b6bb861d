"""rating scorecard (issue 6: RAT-1, RAT-2, RAT-4): scoring models, indicators, grade bands, ratings, batches

Revision ID: 0015
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0008"
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
        "rat_model",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(30), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_kind", sa.String(12), nullable=False),
        sa.Column("industry_codes", sa.String(200)),
        sa.Column("enterprise_sizes", sa.String(50)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("missing_policy", sa.String(10), nullable=False),
        sa.Column("missing_points", sa.Numeric(9, 4)),
        sa.Column("description", sa.Text()),
        *_audit(),
        sa.UniqueConstraint("code", "version", name="uq_rat_model_code_version"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_rat_model_code", "rat_model", ["code"])

    op.create_table(
        "rat_indicator",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("rat_model.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code", sa.String(30), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Numeric(9, 4), nullable=False),
        sa.Column("formula", sa.Text()),
        sa.Column("rule", sa.String(10), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("bands", sa.Text()),
        sa.Column("lower", sa.Numeric(18, 6)),
        sa.Column("upper", sa.Numeric(18, 6)),
        sa.Column("options", sa.Text()),
        sa.Column("question", sa.String(300)),
        *_audit(),
        sa.UniqueConstraint("model_id", "code", name="uq_rat_indicator_code"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_rat_indicator_model_id", "rat_indicator", ["model_id"])

    op.create_table(
        "rat_grade",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("rat_model.id", ondelete="CASCADE"), nullable=False),
        sa.Column("grade", sa.String(5), nullable=False),
        sa.Column("min_score", sa.Numeric(9, 2), nullable=False),
        sa.Column("limit_basis", sa.String(12), nullable=False),
        sa.Column("limit_multiple", sa.Numeric(9, 4)),
        sa.Column("limit_cap", sa.Numeric(18, 2)),
        sa.Column("description", sa.String(200)),
        *_audit(),
        sa.UniqueConstraint("model_id", "grade", name="uq_rat_grade"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_rat_grade_model_id", "rat_grade", ["model_id"])

    op.create_table(
        "rat_batch",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("rated", sa.Integer(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("decided_at", sa.DateTime()),
        sa.Column("error", sa.String(300)),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "rat_rating",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("cus_customer.id"), nullable=False),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("rat_model.id"), nullable=False),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("rat_batch.id")),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("score", sa.Numeric(9, 2), nullable=False),
        sa.Column("grade", sa.String(5), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON()),
        sa.Column("statement_id", sa.Integer(), sa.ForeignKey("cus_fin_statement.id")),
        sa.Column("period_end", sa.Date()),
        sa.Column("net_assets", sa.Numeric(18, 2)),
        sa.Column("rated_on", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_to", sa.Date()),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text()),
        *_audit(),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("sys_department.id")),
        sqlite_autoincrement=True,
    )
    for name, cols in (("ix_rat_rating_customer_id", ["customer_id"]), ("ix_rat_rating_model_id", ["model_id"]),
                       ("ix_rat_rating_batch_id", ["batch_id"]), ("ix_rat_rating_status", ["status"]),
                       ("ix_rat_rating_owner_id", ["owner_id"]), ("ix_rat_rating_department_id", ["department_id"]),
                       ("ix_rat_rating_customer_current", ["customer_id", "is_current"]),
                       ("ix_rat_rating_valid_to", ["is_current", "valid_to"])):
        op.create_index(name, "rat_rating", cols)


def downgrade():
    op.drop_table("rat_rating")
    op.drop_table("rat_batch")
    op.drop_table("rat_grade")
    op.drop_table("rat_indicator")
    op.drop_table("rat_model")
