"""Guarantee business (BIZ-3..7, BIZ-9..12, BIZ-14): an application and its way to the in-force state.

A guarantee moves through STAGES in order; app/services/guarantees.py is the only place that changes
`stage` (row lock + check of the current stage), the approval stages move only by the approval engine.
Child records: counter-guarantee measures, fee plan items, the generated fee schedule, fee receipts,
contracts, the stage documents (reports, letters, notices) and the stage history.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint,
    false,
)
from sqlalchemy import JSON
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin, OwnedMixin

# The order is the business: a guarantee enters each stage once, from the one before it.
STAGES = (
    "draft",             # application being entered (担保申请)
    "investigation",     # 保前调查报告
    "acceptance",        # 受理审批 (approval)
    "intention",         # 意向函
    "review",            # 评审审批 (approval)
    "risk",              # 风险管控报告 + 审批 (approval)
    "committee",         # 审保会 + 总经理签批 = 公司决议 (approval)
    "confirmation",      # 担保确认函
    "fee_registration",  # 收费登记
    "contract",          # 担保合同 / 反担保合同签订
    "fee_collection",    # 收费 (ledger event)
    "loan_notice",       # 放款通知单
    "loan_confirmation", # 银行放款确认
    "in_force",          # 保后
    "released",          # 解保 (a later issue)
)
STATUSES = ("active", "rejected", "withdrawn", "released")
APPROVAL_STATUSES = ("none", "pending", "approved", "rejected")
CONTRACT_STATUSES = ("none", "draft", "reviewed", "signed")


class Guarantee(OwnedMixin, Model):
    __tablename__ = "biz_guarantee"
    __scope_owner__ = "manager_id"  # data scope "own": the account manager's business
    __table_args__ = (
        Index("ix_guarantee_stage_status", "stage", "status"),
        OwnedMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("biz_product.id"), nullable=False, index=True)
    bank_id = Column(Integer, ForeignKey("biz_bank.id"), nullable=False, index=True)
    amount = Column(Numeric(18, 2), nullable=False)
    term_months = Column(Integer, nullable=False)
    fee_rate = Column(Numeric(9, 6), nullable=False)  # annual rate, 0.015 = 1.5 %
    purpose = Column(String(500))
    repayment_method = Column(String(20))  # dictionary repayment_method
    green_channel = Column(Boolean, default=False, server_default=false(), nullable=False)
    stage = Column(String(20), default="draft", nullable=False, index=True)
    status = Column(String(12), default="active", nullable=False, index=True)
    # Mirrors of the engine's and the contracts' state, kept by the service so queries filter cheaply (BIZ-14).
    approval_status = Column(String(12), default="none", nullable=False, index=True)
    contract_status = Column(String(12), default="none", nullable=False, index=True)
    apply_date = Column(Date, index=True)  # business date of the application
    submitted_at = Column(DateTime)
    stage_changed_at = Column(DateTime)
    loan_number = Column(String(50))
    loan_amount = Column(Numeric(18, 2))
    loan_date = Column(Date, index=True)
    due_date = Column(Date, index=True)
    balance = Column(Numeric(18, 2), default=0, nullable=False)  # outstanding liability (= loan_amount in force)
    backfilled = Column(Boolean, default=False, server_default=false(), nullable=False)
    note = Column(Text)
    manager_id = Column(Integer, ForeignKey("ab_user.id"), index=True)

    customer = relationship("Customer", foreign_keys=[customer_id], lazy="selectin")
    product = relationship("Product", foreign_keys=[product_id], lazy="selectin")
    bank = relationship("CooperatingBank", foreign_keys=[bank_id], lazy="selectin")
    manager = relationship("User", foreign_keys=[manager_id], lazy="selectin")
    measures = relationship("CounterMeasure", back_populates="guarantee", cascade="all, delete-orphan",
                            order_by="CounterMeasure.id")
    fee_items = relationship("FeePlanItem", back_populates="guarantee", cascade="all, delete-orphan",
                             order_by="FeePlanItem.id")
    schedule = relationship("FeeScheduleRow", back_populates="guarantee", cascade="all, delete-orphan",
                            order_by="(FeeScheduleRow.due_date, FeeScheduleRow.id)")
    receipts = relationship("FeeReceipt", back_populates="guarantee", cascade="all, delete-orphan",
                            order_by="FeeReceipt.id")
    contracts = relationship("GuaranteeContract", back_populates="guarantee", cascade="all, delete-orphan",
                             order_by="GuaranteeContract.id")
    documents = relationship("StageDocument", back_populates="guarantee", cascade="all, delete-orphan",
                             order_by="StageDocument.id")
    history = relationship("StageHistory", back_populates="guarantee", cascade="all, delete-orphan",
                           order_by="StageHistory.id")

    @property
    def in_force(self) -> bool:
        return self.stage == "in_force" and self.status == "active"

    def __repr__(self):
        return self.code or ""


class CounterMeasure(AuditMixin, Model):
    """BIZ-10 反担保措施: surety names a guarantor customer; pledge/mortgage describe the item and its value."""

    __tablename__ = "biz_counter_measure"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(12), nullable=False)  # app/services/products.COUNTER_KINDS
    guarantor_id = Column(Integer, ForeignKey("cus_customer.id"), index=True)  # surety
    description = Column(String(500))
    value = Column(Numeric(18, 2))
    collateral_id = Column(Integer)  # collateral register (a later issue)
    registered = Column(Boolean, default=False, server_default=false(), nullable=False)  # rights registered
    registered_on = Column(Date)
    guarantee = relationship("Guarantee", back_populates="measures")
    guarantor = relationship("Customer", foreign_keys=[guarantor_id], lazy="selectin")


class FeePlanItem(AuditMixin, Model):
    """BIZ-9 收费方案 item: what is charged, by ratio or fixed amount, and how often."""

    __tablename__ = "biz_fee_item"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    fee_type = Column(String(12), nullable=False)  # guarantee/service/handling/penalty/other
    basis = Column(String(8), nullable=False)  # ratio | fixed
    rate = Column(Numeric(9, 6))  # annual ratio when basis = ratio
    amount = Column(Numeric(18, 2))  # fixed amount
    principal = Column(Numeric(18, 2))  # base of a ratio (the guarantee amount)
    frequency = Column(String(10), nullable=False)  # one_off | monthly | quarterly | yearly
    note = Column(String(200))
    guarantee = relationship("Guarantee", back_populates="fee_items")


class FeeScheduleRow(AuditMixin, Model):
    """One due fee of the generated schedule (app/services/fees.build_schedule)."""

    __tablename__ = "biz_fee_schedule"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    due_date = Column(Date, nullable=False, index=True)
    fee_type = Column(String(12), nullable=False)
    amount = Column(Numeric(18, 2), nullable=False)
    period_from = Column(Date)
    period_to = Column(Date)
    received = Column(Numeric(18, 2), default=0, nullable=False)
    guarantee = relationship("Guarantee", back_populates="schedule")


class FeeReceipt(AuditMixin, Model):
    """A fee actually collected (收费); each one is a business financial event for the ledger."""

    __tablename__ = "biz_fee_receipt"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    schedule_id = Column(Integer, ForeignKey("biz_fee_schedule.id"), index=True)
    fee_type = Column(String(12), nullable=False)
    amount = Column(Numeric(18, 2), nullable=False)
    received_on = Column(Date, nullable=False)
    method = Column(String(20))  # bank transfer / cash …
    reference = Column(String(60))  # bank slip number
    event_id = Column(Integer, ForeignKey("gl_business_event.id"), index=True)
    received_by_id = Column(Integer, ForeignKey("ab_user.id"))
    guarantee = relationship("Guarantee", back_populates="receipts")
    schedule_row = relationship("FeeScheduleRow", foreign_keys=[schedule_id])
    received_by = relationship("User", foreign_keys=[received_by_id], lazy="selectin")


class GuaranteeContract(AuditMixin, Model):
    """BIZ-11 担保合同 (kind guarantee) and 反担保合同 (kind counter, one per measure) with review and signing."""

    __tablename__ = "biz_contract"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(10), nullable=False)  # guarantee | counter
    measure_id = Column(Integer, ForeignKey("biz_counter_measure.id"), index=True)
    number = Column(String(40), unique=True, nullable=False)
    counterparty = Column(String(200))
    status = Column(String(10), default="draft", nullable=False)  # draft | reviewed | signed
    reviewed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    reviewed_at = Column(DateTime)
    review_comment = Column(String(500))
    signed_on = Column(Date)
    start_date = Column(Date)
    end_date = Column(Date)
    note = Column(String(500))
    guarantee = relationship("Guarantee", back_populates="contracts")
    measure = relationship("CounterMeasure", foreign_keys=[measure_id])
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id], lazy="selectin")


class StageDocument(AuditMixin, Model):
    """The document of a stage: a report (form fields in `content`) or a numbered letter/notice/resolution."""

    __tablename__ = "biz_stage_document"
    __scope_parent__ = "guarantee"
    __table_args__ = (
        UniqueConstraint("guarantee_id", "doc_type", name="uq_stage_document_type"),
        AuditMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    # investigation_report, risk_report, intention_letter, committee_resolution, confirmation_letter, loan_notice
    doc_type = Column(String(30), nullable=False)
    number = Column(String(40), index=True)
    doc_date = Column(Date)
    content = Column(JSON(none_as_null=True))
    guarantee = relationship("Guarantee", back_populates="documents")


class StageHistory(Model):
    """Every move of a guarantee (and every refusal-free action on it), in order."""

    __tablename__ = "biz_stage_history"
    __scope_parent__ = "guarantee"
    __table_args__ = {"sqlite_autoincrement": True}
    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id", ondelete="CASCADE"), nullable=False, index=True)
    from_stage = Column(String(20))
    to_stage = Column(String(20))
    action = Column(String(30), nullable=False)
    comment = Column(String(1000))
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    business_date = Column(Date)
    at = Column(DateTime, default=datetime.now, nullable=False)
    backfilled = Column(Boolean, default=False, server_default=false(), nullable=False)
    guarantee = relationship("Guarantee", back_populates="history")
    user = relationship("User", foreign_keys=[user_id], lazy="selectin")
