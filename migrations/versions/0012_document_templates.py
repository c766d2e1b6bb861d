"""document templates (意向函, 担保确认函, 公司决议, 担保合同, 反担保合同, 放款通知单)

Revision ID: 0012
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "biz_document_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doc_type", "version", name="uq_document_template_version"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_biz_document_template_doc_type", "biz_document_template", ["doc_type"])
    op.create_index("uq_document_template_active", "biz_document_template", ["doc_type"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))
    op.create_table(
        "biz_document_template_file",
        sa.Column("template_id", sa.Integer(),
                  sa.ForeignKey("biz_document_template.id", ondelete="CASCADE"), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("template_id"),
    )


def downgrade():
    op.drop_table("biz_document_template_file")
    op.drop_index("uq_document_template_active", table_name="biz_document_template")
    op.drop_index("ix_biz_document_template_doc_type", table_name="biz_document_template")
    op.drop_table("biz_document_template")
