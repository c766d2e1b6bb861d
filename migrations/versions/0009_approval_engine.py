"""approval engine (issue 4: BIZ-8, WB-5, WB-6): flows, steps, rules, instances, tasks, actions,
committee meetings and votes, delegations, internal messages

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
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


def _condition():
    return [
        sa.Column("amount_min", sa.Numeric(18, 2)),
        sa.Column("amount_max", sa.Numeric(18, 2)),
        sa.Column("product_codes", sa.String(200)),
        sa.Column("customer_grades", sa.String(100)),
        sa.Column("green_channel", sa.Boolean()),
    ]


def upgrade():
    op.create_table(
        "wf_flow",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(500)),
        *_audit(),
        sa.UniqueConstraint("code", "version"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_wf_flow_code", "wf_flow", ["code"])
    op.create_index("ix_wf_flow_kind_active", "wf_flow", ["kind", "active"])

    op.create_table(
        "wf_step",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("flow_id", sa.Integer(), sa.ForeignKey("wf_flow.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("sys_approval_post.id")),
        sa.Column("role_id", sa.Integer(), sa.ForeignKey("ab_role.id")),
        sa.Column("user_ids", sa.JSON()),
        sa.Column("allow_same_person", sa.Boolean(), nullable=False),
        sa.Column("quorum", sa.Integer()),
        sa.Column("pass_num", sa.Integer()),
        sa.Column("pass_den", sa.Integer()),
        sa.Column("chair_veto", sa.Boolean(), nullable=False),
        *_condition(),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_wf_step_flow_id", "wf_step", ["flow_id"])
    op.create_index("ix_wf_step_post_id", "wf_step", ["post_id"])

    op.create_table(
        "wf_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("name", sa.String(100)),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("flow_code", sa.String(50), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_condition(),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_wf_rule_kind_priority", "wf_rule", ["kind", "priority"])

    op.create_table(
        "wf_instance",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200)),
        sa.Column("flow_id", sa.Integer(), sa.ForeignKey("wf_flow.id"), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("current_step_id", sa.Integer(), sa.ForeignKey("wf_step.id")),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("submitter_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_wf_instance_item", "wf_instance", ["kind", "object_id", "status"])
    op.create_index("ix_wf_instance_flow_id", "wf_instance", ["flow_id"])
    op.create_index("ix_wf_instance_status", "wf_instance", ["status"])
    op.create_index("ix_wf_instance_submitter_id", "wf_instance", ["submitter_id"])

    op.create_table(
        "wf_task",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("wf_instance.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step_id", sa.Integer(), sa.ForeignKey("wf_step.id"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("acted_at", sa.DateTime()),
        sa.Column("acted_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("result", sa.String(20)),
    )
    op.create_index("ix_wf_task_todo", "wf_task", ["assignee_id", "status", "id"])
    op.create_index("ix_wf_task_instance", "wf_task", ["instance_id", "round"])

    op.create_table(
        "wf_action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("wf_instance.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step_id", sa.Integer(), sa.ForeignKey("wf_step.id")),
        sa.Column("step_name", sa.String(100)),
        sa.Column("round", sa.Integer()),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("acted_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("on_behalf_of_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("to_step_id", sa.Integer(), sa.ForeignKey("wf_step.id")),
        sa.Column("comment", sa.Text()),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_wf_action_instance", "wf_action", ["instance_id", "id"])
    op.create_index("ix_wf_action_actor", "wf_action", ["acted_by_id", "id"])

    op.create_table(
        "wf_meeting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("wf_instance.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step_id", sa.Integer(), sa.ForeignKey("wf_step.id"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("chair_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("pass_num", sa.Integer(), nullable=False),
        sa.Column("pass_den", sa.Integer(), nullable=False),
        sa.Column("chair_veto", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime()),
    )
    op.create_index("ix_wf_meeting_instance", "wf_meeting", ["instance_id", "round"])

    op.create_table(
        "wf_vote",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("wf_meeting.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False),
        sa.Column("vote", sa.String(20)),
        sa.Column("opinion", sa.Text()),
        sa.Column("voted_at", sa.DateTime()),
        sa.Column("acted_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.UniqueConstraint("meeting_id", "member_id"),
    )

    op.create_table(
        "wf_delegation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("from_user_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False),
        sa.Column("to_user_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(50)),
        sa.Column("reason", sa.String(200)),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_audit(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_wf_delegation_to", "wf_delegation", ["to_user_id", "date_from"])
    op.create_index("ix_wf_delegation_from", "wf_delegation", ["from_user_id", "date_from"])

    op.create_table(
        "wf_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("wf_instance.id", ondelete="CASCADE")),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime()),
    )
    op.create_index("ix_wf_message_user", "wf_message", ["user_id", "read_at", "id"])


def downgrade():
    for table in ("wf_message", "wf_delegation", "wf_vote", "wf_meeting", "wf_action", "wf_task", "wf_instance",
                  "wf_rule", "wf_step", "wf_flow"):
        op.drop_table(table)
