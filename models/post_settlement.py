"""Settlement after default and at the end of a guarantee (issue 7, POST-5..9): compensation (代偿), recovery
(追偿) with its receipts and legal actions, foreclosed assets (抵债资产) with their valuations, release (解保 /
担保结算), extension (展期), early repayment (提前还款) and the per-product fee refund rule.

Every state change goes through app/services/{compensation,recovery,foreclosed_assets,release,extension}.py,
which lock the row and check the state; the approvals go through the approval engine (kinds "compensation",
"recovery", "extension"). Money is Numeric(18, 2); each payment or receipt points at its ledger event.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin


class Compensation(AuditMixin, Model):
    """代偿: the bank's demand after default (principal, interest, penalty), approved, then paid by the company."""

    __tablename__ = "pst_compensation"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id"), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), nullable=False, index=True)
    bank_id = Column(Integer, ForeignKey("biz_bank.id"), nullable=False, index=True)
    demand_date = Column(Date, nullable=False)  # date of the bank's written demand
    demand_reference = Column(String(60))  # the bank's notice number
    principal = Column(Numeric(18, 2), nullable=False)
    interest = Column(Numeric(18, 2), nullable=False, default=0)
    penalty = Column(Numeric(18, 2), nullable=False, default=0)
    amount = Column(Numeric(18, 2), nullable=False)  # principal + interest + penalty
    reason = Column(String(1000))
    # pending (in approval) | approved | rejected | withdrawn | paid
    status = Column(String(12), nullable=False, default="pending", index=True)
    applied_by_id = Column(Integer, ForeignKey("ab_user.id"))
    applied_on = Column(Date)
    decided_on = Column(Date)
    paid_on = Column(Date, index=True)
    paid_amount = Column(Numeric(18, 2))
    payment_reference = Column(String(60))
    paid_by_id = Column(Integer, ForeignKey("ab_user.id"))
    event_id = Column(Integer, ForeignKey("gl_business_event.id"), index=True)
    recovered_amount = Column(Numeric(18, 2), nullable=False, default=0)  # kept by app/services/recovery.py

    guarantee = relationship("Guarantee", foreign_keys=[guarantee_id], lazy="selectin")
    customer = relationship("Customer", foreign_keys=[customer_id], lazy="selectin")
    bank = relationship("CooperatingBank", foreign_keys=[bank_id], lazy="selectin")

    def __repr__(self):
        return self.code or ""


class RecoveryCase(AuditMixin, Model):
    """追偿: the plan to get a paid compensation back, approved, then receipts and legal actions until closed."""

    __tablename__ = "pst_recovery_case"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    compensation_id = Column(Integer, ForeignKey("pst_compensation.id"), nullable=False, index=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id"), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), nullable=False, index=True)
    plan = Column(Text, nullable=False)  # 追偿方案: measures, parties, timetable
    target_amount = Column(Numeric(18, 2), nullable=False)
    # pending (in approval) | approved (receipts allowed) | rejected | withdrawn | closed
    status = Column(String(12), nullable=False, default="pending", index=True)
    applied_by_id = Column(Integer, ForeignKey("ab_user.id"))
    applied_on = Column(Date)
    decided_on = Column(Date)
    closed_on = Column(Date)
    close_note = Column(String(1000))

    compensation = relationship("Compensation", foreign_keys=[compensation_id], lazy="selectin")
    guarantee = relationship("Guarantee", foreign_keys=[guarantee_id], lazy="selectin")
    customer = relationship("Customer", foreign_keys=[customer_id], lazy="selectin")
    receipts = relationship("RecoveryReceipt", back_populates="case", order_by="RecoveryReceipt.id")
    legal_actions = relationship("LegalAction", back_populates="case", order_by="LegalAction.id")

    def __repr__(self):
        return self.code or ""


class RecoveryReceipt(AuditMixin, Model):
    """An amount recovered, by source, allocated to principal, interest and costs; one ledger event each."""

    __tablename__ = "pst_recovery_receipt"
    __scope_parent__ = "case"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("pst_recovery_case.id"), nullable=False, index=True)
    received_on = Column(Date, nullable=False, index=True)
    source = Column(String(20), nullable=False)  # cash | counter_guarantor | collateral
    payer = Column(String(200))
    principal = Column(Numeric(18, 2), nullable=False, default=0)
    interest = Column(Numeric(18, 2), nullable=False, default=0)
    costs = Column(Numeric(18, 2), nullable=False, default=0)
    amount = Column(Numeric(18, 2), nullable=False)
    reference = Column(String(60))
    note = Column(String(500))
    recorded_by_id = Column(Integer, ForeignKey("ab_user.id"))
    event_id = Column(Integer, ForeignKey("gl_business_event.id"), index=True)
    case = relationship("RecoveryCase", back_populates="receipts")


class LegalAction(AuditMixin, Model):
    """诉讼记录: one step of the legal action of a recovery case."""

    __tablename__ = "pst_legal_action"
    __scope_parent__ = "case"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("pst_recovery_case.id"), nullable=False, index=True)
    action_date = Column(Date, nullable=False)
    kind = Column(String(20), nullable=False)  # app/services/recovery.LEGAL_KINDS
    court = Column(String(200))
    case_number = Column(String(60))
    description = Column(String(1000), nullable=False)
    recorded_by_id = Column(Integer, ForeignKey("ab_user.id"))
    case = relationship("RecoveryCase", back_populates="legal_actions")


class ForeclosedAsset(AuditMixin, Model):
    """抵债资产: taken from collateral or received in settlement; held at book value until disposed."""

    __tablename__ = "pst_foreclosed_asset"
    __scope_parent__ = "customer"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    name = Column(String(200), nullable=False)
    kind = Column(String(20), nullable=False)  # app/services/foreclosed_assets.ASSET_KINDS
    source = Column(String(20), nullable=False)  # collateral | settlement
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), nullable=False, index=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id"), index=True)
    compensation_id = Column(Integer, ForeignKey("pst_compensation.id"), index=True)
    collateral_id = Column(Integer, index=True)  # the collateral register (a parallel branch: no foreign key)
    acquired_on = Column(Date, nullable=False)
    book_value = Column(Numeric(18, 2), nullable=False)  # value at which it settled the receivable
    current_value = Column(Numeric(18, 2))  # latest valuation
    location = Column(String(200))
    status = Column(String(12), nullable=False, default="holding", index=True)  # holding | disposed
    disposed_on = Column(Date)
    disposal_amount = Column(Numeric(18, 2))
    gain_loss = Column(Numeric(18, 2))  # disposal amount - book value
    buyer = Column(String(200))
    acquisition_event_id = Column(Integer, ForeignKey("gl_business_event.id"))
    disposal_event_id = Column(Integer, ForeignKey("gl_business_event.id"))
    note = Column(String(1000))

    customer = relationship("Customer", foreign_keys=[customer_id], lazy="selectin")
    guarantee = relationship("Guarantee", foreign_keys=[guarantee_id], lazy="selectin")
    valuations = relationship("ForeclosedValuation", back_populates="asset", order_by="ForeclosedValuation.id")

    def __repr__(self):
        return f"{self.code} {self.name}" if self.code else (self.name or "")


class ForeclosedValuation(AuditMixin, Model):
    __tablename__ = "pst_foreclosed_valuation"
    __scope_parent__ = "asset"
    id = Column(Integer, primary_key=True)
    asset_id = Column(Integer, ForeignKey("pst_foreclosed_asset.id"), nullable=False, index=True)
    valued_on = Column(Date, nullable=False)
    value = Column(Numeric(18, 2), nullable=False)
    agency = Column(String(200))
    note = Column(String(500))
    asset = relationship("ForeclosedAsset", back_populates="valuations")


class GuaranteeRelease(AuditMixin, Model):
    """解保 / 担保结算: the bank's confirmation, the margin refund and the settlement statement (one per guarantee)."""

    __tablename__ = "pst_release"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id"), nullable=False, unique=True)
    released_on = Column(Date, nullable=False, index=True)
    bank_confirmation = Column(String(60), nullable=False)  # the bank's repayment confirmation number
    margin_held = Column(Numeric(18, 2), nullable=False, default=0)
    margin_refund = Column(Numeric(18, 2), nullable=False, default=0)
    event_id = Column(Integer, ForeignKey("gl_business_event.id"))
    certificates_queued = Column(Integer, nullable=False, default=0)
    statement = Column(JSON)  # the settlement statement as it stood at release
    note = Column(String(1000))
    released_by_id = Column(Integer, ForeignKey("ab_user.id"))
    guarantee = relationship("Guarantee", foreign_keys=[guarantee_id], lazy="selectin")


class Extension(AuditMixin, Model):
    """展期: more months for a guarantee in force, approved through the engine; the fee of the added months."""

    __tablename__ = "pst_extension"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id"), nullable=False, index=True)
    months = Column(Integer, nullable=False)
    old_due_date = Column(Date, nullable=False)
    new_due_date = Column(Date, nullable=False)
    fee_rate = Column(Numeric(9, 6), nullable=False)  # annual rate of the extension fee
    fee_amount = Column(Numeric(18, 2), nullable=False)
    reason = Column(String(1000), nullable=False)
    status = Column(String(12), nullable=False, default="pending", index=True)  # pending|approved|rejected|withdrawn
    applied_by_id = Column(Integer, ForeignKey("ab_user.id"))
    applied_on = Column(Date)
    decided_on = Column(Date)
    guarantee = relationship("Guarantee", foreign_keys=[guarantee_id], lazy="selectin")

    def __repr__(self):
        return self.code or ""


class EarlyRepayment(AuditMixin, Model):
    """提前还款: the bank reports a repayment before the due date; balance, schedule and fee refund follow."""

    __tablename__ = "pst_early_repayment"
    __scope_parent__ = "guarantee"
    id = Column(Integer, primary_key=True)
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id"), nullable=False, index=True)
    repaid_on = Column(Date, nullable=False)
    amount = Column(Numeric(18, 2), nullable=False)
    balance_before = Column(Numeric(18, 2), nullable=False)
    balance_after = Column(Numeric(18, 2), nullable=False)
    fee_refund = Column(Numeric(18, 2), nullable=False, default=0)
    refund_basis = Column(String(500))
    plan_rows = Column(Integer, nullable=False, default=0)  # rows of the recalculated repayment plan
    note = Column(String(500))
    recorded_by_id = Column(Integer, ForeignKey("ab_user.id"))
    at = Column(DateTime, default=datetime.now, nullable=False)
    guarantee = relationship("Guarantee", foreign_keys=[guarantee_id], lazy="selectin")


class FeeRefundRule(AuditMixin, Model):
    """The product's rule for the guarantee fee on early repayment: none, or the unused part pro rata × ratio."""

    __tablename__ = "pst_fee_refund_rule"
    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("biz_product.id"), nullable=False, unique=True)
    method = Column(String(12), nullable=False, default="none")  # none | pro_rata
    ratio = Column(Numeric(9, 6), nullable=False, default=1)  # share of the unused fee given back
    min_days = Column(Integer, nullable=False, default=0)  # no refund when fewer days remain
    note = Column(String(500))
    product = relationship("Product", foreign_keys=[product_id], lazy="selectin")
