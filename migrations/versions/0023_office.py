"""office (issue 9, WB-3/WB-6/OA-2/SYS-11): internal messages and mail, address books, file cabinets,
personal preferences, help pages (oa_*)

Revision ID: 0023
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0023"
down_revision = "0017"
branch_labels = None
depends_on = None


def _audit():
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
    ]


def _file_columns():
    return [
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("stored_name", sa.String(64), nullable=False, unique=True),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("extension", sa.String(10), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    ]


def upgrade():
    op.create_table(
        "oa_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("sender_id", sa.Integer(), sa.ForeignKey("ab_user.id"), index=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text()),
        sa.Column("link", sa.String(500)),
        sa.Column("addressed_to", sa.String(1000)),
        sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("sender_deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "oa_message_recipient",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("oa_message.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False),
        sa.Column("read_at", sa.DateTime()),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("emailed_at", sa.DateTime()),
        sa.UniqueConstraint("message_id", "user_id", name="uq_oa_message_recipient"),
    )
    op.create_index("ix_oa_recipient_user_read", "oa_message_recipient", ["user_id", "deleted", "read_at"])
    op.create_table(
        "oa_message_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("oa_message.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        *_file_columns(),
    )
    op.create_table(
        "oa_contact_group",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False, index=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False, server_default="0"),
        *_audit(),
        sa.UniqueConstraint("owner_id", "name", name="uq_oa_contact_group"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "oa_contact",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("oa_contact_group.id", ondelete="SET NULL"), index=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("company", sa.String(200)),
        sa.Column("title", sa.String(50)),
        sa.Column("mobile", sa.String(30)),
        sa.Column("phone", sa.String(30)),
        sa.Column("email", sa.String(120)),
        sa.Column("address", sa.String(300)),
        sa.Column("note", sa.String(500)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_oa_contact_owner_name", "oa_contact", ["owner_id", "name"])
    op.create_table(
        "oa_folder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("description", sa.String(300)),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_oa_folder_scope_owner", "oa_folder", ["scope", "owner_id"])
    op.create_table(
        "oa_folder_department",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("folder_id", sa.Integer(), sa.ForeignKey("oa_folder.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("sys_department.id", ondelete="CASCADE"),
                  nullable=False),
        sa.UniqueConstraint("folder_id", "department_id", name="uq_oa_folder_department"),
    )
    op.create_table(
        "oa_folder_role",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("folder_id", sa.Integer(), sa.ForeignKey("oa_folder.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("role_id", sa.Integer(), sa.ForeignKey("ab_role.id", ondelete="CASCADE"), nullable=False),
        sa.UniqueConstraint("folder_id", "role_id", name="uq_oa_folder_role"),
    )
    op.create_table(
        "oa_folder_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("folder_id", sa.Integer(), sa.ForeignKey("oa_folder.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("description", sa.String(300)),
        *_file_columns(),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "oa_user_pref",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("rows_per_page", sa.Integer()),
    )
    op.create_table(
        "oa_help_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text()),
        sa.Column("phone", sa.String(30)),
        sa.Column("email", sa.String(120)),
        sa.Column("sort_order", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_oa_help_kind_order", "oa_help_entry", ["kind", "sort_order"])


def downgrade():
    for table in ("oa_help_entry", "oa_user_pref", "oa_folder_file", "oa_folder_role", "oa_folder_department",
                  "oa_folder", "oa_contact", "oa_contact_group", "oa_message_file", "oa_message_recipient",
                  "oa_message"):
        op.drop_table(table)
