"""The approval engine (BIZ-8, WB-5, WB-6): flows are data; every approvable item runs through one engine.

A flow is identified by its `code`; every save from the designer makes a new row (a new version) of the same
code and deactivates the old one, so an instance keeps the exact version (flow_id) it started with. Rules
point at a flow code, so they always match the current version. The service is app/services/approval.py.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    JSON, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin

STEP_MODES = ("single", "any", "all", "committee")
INSTANCE_STATUSES = ("pending", "approved", "rejected", "withdrawn")
VOTES = ("agree", "disagree", "abstain")


class ConditionMixin:
    """When a rule or a step applies; every empty field means "any"."""

    amount_min = Column(Numeric(18, 2))  # inclusive
    amount_max = Column(Numeric(18, 2))  # inclusive
    product_codes = Column(String(200))  # comma separated
    customer_grades = Column(String(100))  # comma separated
    green_channel = Column(Boolean)  # None: either; True: only green channel; False: only the normal channel


class ApprovalFlow(AuditMixin, Model):
    __tablename__ = "wf_flow"
    __table_args__ = (UniqueConstraint("code", "version"), Index("ix_wf_flow_kind_active", "kind", "active"),
                      AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    code = Column(String(50), nullable=False, index=True)
    kind = Column(String(50), nullable=False)
    name = Column(String(100), nullable=False)
    version = Column(Integer, nullable=False, default=1)
    active = Column(Boolean, nullable=False, default=True)  # the current version of the code
    description = Column(String(500))
    steps = relationship("ApprovalStep", back_populates="flow", order_by="ApprovalStep.position",
                         cascade="all, delete-orphan", lazy="selectin")

    def __repr__(self):
        return f"{self.name} v{self.version}"


class ApprovalStep(ConditionMixin, AuditMixin, Model):
    __tablename__ = "wf_step"
    id = Column(Integer, primary_key=True)
    flow_id = Column(Integer, ForeignKey("wf_flow.id", ondelete="CASCADE"), nullable=False, index=True)
    flow = relationship("ApprovalFlow", back_populates="steps")
    position = Column(Integer, nullable=False, default=1)
    name = Column(String(100), nullable=False)
    mode = Column(String(20), nullable=False, default="single")
    post_id = Column(Integer, ForeignKey("sys_approval_post.id"), index=True)
    post = relationship("ApprovalPost", lazy="joined")
    role_id = Column(Integer, ForeignKey("ab_role.id"))
    role = relationship("Role", lazy="joined")
    user_ids = Column(JSON)  # named approvers: list of ab_user ids
    allow_same_person = Column(Boolean, nullable=False, default=False)
    # committee steps: minimum members present, pass rule (agree votes / members present >= num/den), chair veto
    quorum = Column(Integer)
    pass_num = Column(Integer)
    pass_den = Column(Integer)
    chair_veto = Column(Boolean, nullable=False, default=False)

    def __repr__(self):
        return self.name


class ApprovalRule(ConditionMixin, AuditMixin, Model):
    """Which flow an item of `kind` goes through: the first matching rule by priority (smallest first)."""

    __tablename__ = "wf_rule"
    __table_args__ = (Index("ix_wf_rule_kind_priority", "kind", "priority"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    kind = Column(String(50), nullable=False)
    name = Column(String(100))
    priority = Column(Integer, nullable=False, default=100)
    flow_code = Column(String(50), nullable=False)
    active = Column(Boolean, nullable=False, default=True)

    def __repr__(self):
        return self.name or f"{self.kind} → {self.flow_code}"


class ApprovalInstance(Model):
    __tablename__ = "wf_instance"
    __table_args__ = (Index("ix_wf_instance_item", "kind", "object_id", "status"),)
    id = Column(Integer, primary_key=True)
    kind = Column(String(50), nullable=False)
    object_id = Column(Integer, nullable=False)
    title = Column(String(200))
    flow_id = Column(Integer, ForeignKey("wf_flow.id"), nullable=False, index=True)
    flow = relationship("ApprovalFlow", lazy="joined")
    path = Column(JSON, nullable=False)  # the step ids that apply to this item, in order (fixed at submit)
    attributes = Column(JSON)  # what the conditions were evaluated against
    status = Column(String(20), nullable=False, default="pending", index=True)
    current_step_id = Column(Integer, ForeignKey("wf_step.id"))
    current_step = relationship("ApprovalStep", lazy="joined")
    round = Column(Integer, nullable=False, default=1)  # +1 every time a step becomes current
    submitter_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    submitter = relationship("User", foreign_keys=[submitter_id], lazy="joined")
    submitted_at = Column(DateTime, default=datetime.now, nullable=False)
    finished_at = Column(DateTime)
    version = Column(Integer, nullable=False, default=1)  # optimistic check: +1 on every action

    def __repr__(self):
        return self.title or f"{self.kind} #{self.object_id}"


class ApprovalTask(Model):
    """One assignee's work item on one step (in one round)."""

    __tablename__ = "wf_task"
    __table_args__ = (Index("ix_wf_task_todo", "assignee_id", "status", "id"),
                      Index("ix_wf_task_instance", "instance_id", "round"))
    id = Column(Integer, primary_key=True)
    instance_id = Column(Integer, ForeignKey("wf_instance.id", ondelete="CASCADE"), nullable=False)
    instance = relationship("ApprovalInstance", lazy="joined")
    step_id = Column(Integer, ForeignKey("wf_step.id"), nullable=False)
    step = relationship("ApprovalStep", lazy="joined")
    round = Column(Integer, nullable=False)
    assignee_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    status = Column(String(20), nullable=False, default="open")  # open | done | closed (decided by others)
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    acted_at = Column(DateTime)
    acted_by_id = Column(Integer, ForeignKey("ab_user.id"))
    result = Column(String(20))


class ApprovalAction(Model):
    """The timeline: every action on an instance, with both names when done under a delegation."""

    __tablename__ = "wf_action"
    __table_args__ = (Index("ix_wf_action_instance", "instance_id", "id"),
                      Index("ix_wf_action_actor", "acted_by_id", "id"))
    id = Column(Integer, primary_key=True)
    instance_id = Column(Integer, ForeignKey("wf_instance.id", ondelete="CASCADE"), nullable=False)
    instance = relationship("ApprovalInstance", lazy="joined")
    step_id = Column(Integer, ForeignKey("wf_step.id"))
    step_name = Column(String(100))
    round = Column(Integer)
    # submit | approve | reject | return | withdraw | vote | meeting | passed | failed
    action = Column(String(20), nullable=False)
    acted_by_id = Column(Integer, ForeignKey("ab_user.id"))
    acted_by = relationship("User", foreign_keys=[acted_by_id], lazy="joined")
    on_behalf_of_id = Column(Integer, ForeignKey("ab_user.id"))
    on_behalf_of = relationship("User", foreign_keys=[on_behalf_of_id], lazy="joined")
    to_step_id = Column(Integer, ForeignKey("wf_step.id"))
    comment = Column(Text)
    at = Column(DateTime, default=datetime.now, nullable=False)


class CommitteeMeeting(Model):
    """A committee (审保会) meeting deciding one committee step of one instance."""

    __tablename__ = "wf_meeting"
    __table_args__ = (Index("ix_wf_meeting_instance", "instance_id", "round"),)
    id = Column(Integer, primary_key=True)
    instance_id = Column(Integer, ForeignKey("wf_instance.id", ondelete="CASCADE"), nullable=False)
    step_id = Column(Integer, ForeignKey("wf_step.id"), nullable=False)
    round = Column(Integer, nullable=False)
    meeting_date = Column(Date, nullable=False)
    chair_id = Column(Integer, ForeignKey("ab_user.id"))
    chair = relationship("User", foreign_keys=[chair_id], lazy="joined")
    quorum = Column(Integer, nullable=False)
    pass_num = Column(Integer, nullable=False)
    pass_den = Column(Integer, nullable=False)
    chair_veto = Column(Boolean, nullable=False, default=False)
    status = Column(String(20), nullable=False, default="open")  # open | passed | failed
    opened_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    decided_at = Column(DateTime)
    votes = relationship("CommitteeVote", back_populates="meeting", order_by="CommitteeVote.id",
                         cascade="all, delete-orphan", lazy="selectin")


class CommitteeVote(Model):
    """One member present at a meeting and, once cast, the vote with its opinion."""

    __tablename__ = "wf_vote"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)
    id = Column(Integer, primary_key=True)
    meeting_id = Column(Integer, ForeignKey("wf_meeting.id", ondelete="CASCADE"), nullable=False)
    meeting = relationship("CommitteeMeeting", back_populates="votes")
    member_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    member = relationship("User", foreign_keys=[member_id], lazy="joined")
    vote = Column(String(20))  # agree | disagree | abstain; None until cast
    opinion = Column(Text)
    voted_at = Column(DateTime)
    acted_by_id = Column(Integer, ForeignKey("ab_user.id"))  # differs from member_id under a delegation


class ApprovalDelegation(AuditMixin, Model):
    """WB-6 工作托管: from_user's approvals may be done by to_user between two business dates."""

    __tablename__ = "wf_delegation"
    __table_args__ = (Index("ix_wf_delegation_to", "to_user_id", "date_from"),
                      Index("ix_wf_delegation_from", "from_user_id", "date_from"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    from_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    from_user = relationship("User", foreign_keys=[from_user_id], lazy="joined")
    to_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    to_user = relationship("User", foreign_keys=[to_user_id], lazy="joined")
    date_from = Column(Date, nullable=False)
    date_to = Column(Date, nullable=False)
    kind = Column(String(50))  # None: every kind
    reason = Column(String(200))
    active = Column(Boolean, nullable=False, default=True)

    def __repr__(self):
        return f"{self.from_user} → {self.to_user}"


class ApprovalMessage(Model):
    """An internal message (站内消息) to the next approvers and to the submitter when an item is decided."""

    __tablename__ = "wf_message"
    __table_args__ = (Index("ix_wf_message_user", "user_id", "read_at", "id"),)
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    instance_id = Column(Integer, ForeignKey("wf_instance.id", ondelete="CASCADE"))
    title = Column(String(300), nullable=False)
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    read_at = Column(DateTime)
