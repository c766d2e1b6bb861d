"""Post-guarantee management (issue 7, POST-1..4): repayment plans, inspections, five-category
classification and warnings. Tables are prefixed ``post_``."""
from sqlalchemy import (Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, JSON, Numeric, String, Text,
                        UniqueConstraint, false, true)
from sqlalchemy.orm import relationship

from flask_appbuilder import Model

from models.mixins import AuditMixin

RISK_CLASSES = ("normal", "special", "substandard", "doubtful", "loss")  # 正常 关注 次级 可疑 损失
WARNING_LEVELS = ("low", "medium", "high")
WARNING_STATUSES = ("open", "acknowledged", "resolved")
PLAN_METHODS = ("annuity", "equal_principal", "interest_only", "bullet")


class PostProductRule(AuditMixin, Model):
    """Per-product post-guarantee rule: whether due dates that fall on a holiday move to the next working day."""

    __tablename__ = "post_product_rule"

    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("biz_product.id", ondelete="CASCADE"), nullable=False, unique=True)
    working_day_adjust = Column(Boolean, default=False, server_default=false(), nullable=False)
    note = Column(String(200))

    product = relationship("Product", lazy="selectin")


class RepaymentPlanRow(AuditMixin, Model):
    """One instalment of the bank loan behind a guarantee (POST-4).

    ``effective_due`` is the due date after the product's working-day rule (chinese_calendar), fixed when the
    row is written, so overdue checks are plain date comparisons in SQL."""

    __scope_parent__ = "guarantee"  # data scope: whoever sees the guarantee
    __tablename__ = "post_repayment_plan"
    __table_args__ = (
        UniqueConstraint("guarantee_id", "seq", name="uq_post_plan_seq"),
        Index("ix_post_plan_open_due", "settled", "effective_due"),
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    seq = Column(Integer, nullable=False)
    due_date = Column(Date, nullable=False)
    effective_due = Column(Date, nullable=False)
    principal = Column(Numeric(18, 2), nullable=False, default=0)
    interest = Column(Numeric(18, 2), nullable=False, default=0)
    paid_principal = Column(Numeric(18, 2), nullable=False, default=0)
    paid_interest = Column(Numeric(18, 2), nullable=False, default=0)
    settled = Column(Boolean, nullable=False, default=False, server_default=false())
    settled_on = Column(Date)
    method = Column(String(20))  # PLAN_METHODS or "imported"
    source = Column(String(10), nullable=False, default="generated")  # generated | imported

    guarantee = relationship("Guarantee", lazy="selectin")


class Repayment(AuditMixin, Model):
    """A repayment the bank reported, applied to the plan rows oldest first."""

    __scope_parent__ = "guarantee"  # data scope: whoever sees the guarantee
    __tablename__ = "post_repayment"

    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    paid_on = Column(Date, nullable=False, index=True)
    principal = Column(Numeric(18, 2), nullable=False, default=0)
    interest = Column(Numeric(18, 2), nullable=False, default=0)
    reference = Column(String(60))
    note = Column(String(300))

    guarantee = relationship("Guarantee", lazy="selectin")


class InspectionInterval(AuditMixin, Model):
    """How many days until an inspection is due: ``first`` after the loan date, then per risk class."""

    __tablename__ = "post_inspection_interval"

    id = Column(Integer, primary_key=True)
    basis = Column(String(20), nullable=False, unique=True)  # first | one of RISK_CLASSES
    days = Column(Integer, nullable=False)


class Inspection(AuditMixin, Model):
    """保后检查 (POST-1): scheduled by the system, reported by the account manager."""

    __scope_parent__ = "guarantee"  # data scope: whoever sees the guarantee
    __tablename__ = "post_inspection"
    __table_args__ = (
        Index("ix_post_inspection_status_due", "status", "due_date"),
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(10), nullable=False, default="periodic")  # first | periodic
    due_date = Column(Date, nullable=False)
    status = Column(String(10), nullable=False, default="scheduled")  # scheduled | done
    visit_date = Column(Date)
    inspector_id = Column(Integer, ForeignKey("ab_user.id"))
    operations = Column(Text)  # 经营状况
    finances = Column(Text)  # 财务状况
    collateral_state = Column(Text)  # 反担保措施状况
    repayment_source = Column(Text)  # 还款来源
    findings = Column(Text)  # 检查发现
    risk_signal = Column(String(10))  # none | minor | major
    conclusion = Column(Text)
    completed_at = Column(DateTime)

    guarantee = relationship("Guarantee", lazy="selectin")
    inspector = relationship("User", foreign_keys=[inspector_id], lazy="selectin")

    @property
    def customer_id(self):
        """The guarantee's customer: report files are kept as the customer's attachments (app/services/attachments)."""
        return self.guarantee.customer_id if self.guarantee is not None else None

    def __repr__(self):
        return f"{self.guarantee.code if self.guarantee is not None else ''} {self.due_date}"


class RiskState(Model):
    """The current five-category class of a guarantee in force (one row each; history in post_classification)."""

    __tablename__ = "post_risk_state"

    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), primary_key=True)
    risk_class = Column(String(12), nullable=False, default="normal", index=True)
    since = Column(Date)


class Classification(AuditMixin, Model):
    """五级分类 (POST-2): a proposal (by rules or by hand) decided through the approval engine."""

    __scope_parent__ = "guarantee"  # data scope: whoever sees the guarantee
    __tablename__ = "post_classification"

    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    previous_class = Column(String(12))
    proposed_class = Column(String(12), nullable=False)
    suggested_class = Column(String(12))  # what the rules said
    reason = Column(Text)
    status = Column(String(10), nullable=False, default="draft", index=True)  # draft|pending|approved|rejected
    proposed_on = Column(Date, nullable=False)
    decided_on = Column(Date)

    guarantee = relationship("Guarantee", lazy="selectin")


class WarningRule(AuditMixin, Model):
    """A warning rule the administrator configures (level, active, parameters); detectors live in code."""

    __tablename__ = "post_warning_rule"

    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False, unique=True)
    level = Column(String(10), nullable=False, default="medium")
    active = Column(Boolean, nullable=False, default=True, server_default=true())
    params = Column(JSON)
    note = Column(String(300))


class PostWarning(AuditMixin, Model):
    """保后预警 (POST-3). ``open_flag`` is 1 while the warning is open or acknowledged and NULL once resolved:
    the unique (rule_code, cause_key, open_flag) lets the database refuse a second open warning for a cause."""

    __scope_parent__ = "customer"  # data scope: whoever sees the customer (set on every warning)
    __tablename__ = "post_warning"
    __table_args__ = (
        UniqueConstraint("rule_code", "cause_key", "open_flag", name="uq_post_warning_open_cause"),
        Index("ix_post_warning_status", "status", "level"),
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)
    rule_code = Column(String(40), nullable=False, index=True)
    cause_key = Column(String(200), nullable=False)
    open_flag = Column(Integer, default=1)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), index=True)
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), index=True)
    level = Column(String(10), nullable=False, default="medium")
    message = Column(String(500), nullable=False)
    owner_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    status = Column(String(12), nullable=False, default="open")
    raised_on = Column(Date, nullable=False, index=True)  # business date
    acknowledged_by_id = Column(Integer, ForeignKey("ab_user.id"))
    acknowledged_at = Column(DateTime)
    ack_note = Column(String(500))
    resolved_by_id = Column(Integer, ForeignKey("ab_user.id"))
    resolved_at = Column(DateTime)
    resolve_note = Column(String(500))

    guarantee = relationship("Guarantee", lazy="selectin")
    customer = relationship("Customer", lazy="selectin")
    owner = relationship("User", foreign_keys=[owner_id], lazy="selectin")
