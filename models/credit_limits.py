"""Credit limits (授信额度, RAT-3): what the company is willing to guarantee for one customer.

A limit is proposed (from the customer's approved rating where the rating module gives one), approved
through the approval engine (kind "credit_limit") and then is the customer's current limit until it
expires, is revoked or is superseded by a newer granted limit; old limits stay as history. The rating
is kept as plain values (grade, rating id) so this table does not depend on the rating tables.
Rules: app/services/credit_limits.py.
"""
from flask_appbuilder import Model
from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin

KINDS = ("comprehensive", "product")
# proposed: saved, not (or no longer) in approval; pending: in the approval engine; granted: approved;
# superseded: a newer limit of the same kind was granted; expired: past valid_to (day-end or on read);
# rejected / revoked: ended by the approvers / by risk management.
STATUSES = ("proposed", "pending", "granted", "rejected", "superseded", "expired", "revoked")


class CreditLimit(AuditMixin, Model):
    __tablename__ = "rat_credit_limit"
    # Visible exactly when the customer is (an account manager sees his own customers' limits).
    __scope_parent__ = "customer"
    __table_args__ = (
        Index("ix_rat_credit_limit_customer_status", "customer_id", "status"),
        AuditMixin.__table_args__,
    )

    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), nullable=False, index=True)
    kind = Column(String(20), default="comprehensive", nullable=False)
    product_id = Column(Integer, index=True)  # per-product limit: biz_product.id (no FK: separate branch)
    amount = Column(Numeric(18, 2), nullable=False)
    valid_from = Column(Date, nullable=False)
    valid_to = Column(Date, nullable=False, index=True)
    status = Column(String(12), default="proposed", nullable=False, index=True)
    grade = Column(String(10))  # the rating grade the limit came from
    rating_id = Column(Integer, index=True)  # the rating (rating module) the limit came from
    rule_amount = Column(Numeric(18, 2))  # what the grade's credit-limit rule proposed, when it did
    basis = Column(String(500))  # how the amount was derived, in words
    proposed_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    granted_at = Column(DateTime)
    decided_on = Column(Date)  # business date of the approval decision
    superseded_by_id = Column(Integer, index=True)  # the newer limit that replaced this one
    ended_on = Column(Date)  # business date it stopped being current (superseded, expired, revoked)
    end_reason = Column(String(500))
    note = Column(Text)

    customer = relationship("Customer", foreign_keys=[customer_id], lazy="selectin")

    def __repr__(self):
        return self.code or ""

    # Figures for list columns (the tab of the customer page): only a current limit has a usage.
    @property
    def used_amount(self):
        from app.services import credit_limits

        figures = credit_limits.figures_of(self)
        return figures["used"] if figures else None

    @property
    def available_amount(self):
        from app.services import credit_limits

        figures = credit_limits.figures_of(self)
        return figures["available"] if figures else None

    @property
    def effective_status(self):
        from app.services import credit_limits

        return credit_limits.effective_status(self)
