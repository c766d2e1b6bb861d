"""Online financing portal (PORTAL-1, PORTAL-2): enterprise companies that registered themselves, the
financing needs they sent in (each one a draft guarantee application for the account manager) and the
notices shown to them. The enterprise user is a FAB user holding only the portal role
(app/services/portal.py); `user_id` ties the login to exactly one company.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin

COMPANY_STATUSES = ("pending", "verified", "rejected")


class PortalCompany(AuditMixin, Model):
    __tablename__ = "ptl_company"
    __table_args__ = (Index("ix_ptl_company_status", "status", "id"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, unique=True)
    user = relationship("User", foreign_keys=[user_id], lazy="selectin")
    name = Column(String(200), nullable=False)
    credit_code = Column(String(18), nullable=False, index=True)
    contact_name = Column(String(50), nullable=False)
    contact_phone = Column(String(30), nullable=False)
    email = Column(String(120), nullable=False)
    status = Column(String(10), nullable=False, default="pending")  # COMPANY_STATUSES
    reject_reason = Column(String(500))
    verified_by_id = Column(Integer, ForeignKey("ab_user.id"))
    verified_by = relationship("User", foreign_keys=[verified_by_id], lazy="selectin")
    verified_at = Column(DateTime)
    # The corporate customer the company is (found by credit code or created at verification).
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), index=True)
    customer = relationship("Customer", lazy="selectin")
    version_id = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version_id}

    def __repr__(self):
        return self.name


class PortalNeed(AuditMixin, Model):
    """A financing need sent in online; `guarantee` is the draft application it became."""

    __tablename__ = "ptl_need"
    __table_args__ = (Index("ix_ptl_need_company", "company_id", "id"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    company_id = Column(Integer, ForeignKey("ptl_company.id"), nullable=False)
    company = relationship("PortalCompany", lazy="selectin")
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), nullable=False, index=True)  # files attach here
    guarantee_id = Column(Integer, ForeignKey("biz_guarantee.id"), nullable=False, unique=True)
    guarantee = relationship("Guarantee", lazy="selectin")
    amount = Column(Numeric(18, 2), nullable=False)
    term_months = Column(Integer, nullable=False)
    purpose = Column(String(500), nullable=False)
    bank_id = Column(Integer, ForeignKey("biz_bank.id"), nullable=False)
    bank = relationship("CooperatingBank", lazy="selectin")
    # An open request for documents (staff asked; cleared when the company uploads a file).
    documents_requested = Column(String(500))
    accepted_at = Column(DateTime)
    accepted_by_id = Column(Integer, ForeignKey("ab_user.id"))

    def __repr__(self):
        return self.guarantee.code if self.guarantee is not None else f"#{self.id}"


class PortalNotice(Model):
    """A notice to the company. `key` makes notices derived from the business (approved, letter ready)
    appear once; staff notices (documents requested) have none."""

    __tablename__ = "ptl_notice"
    __table_args__ = (UniqueConstraint("company_id", "key", name="uq_ptl_notice_key"),
                      Index("ix_ptl_notice_company", "company_id", "id"), {"sqlite_autoincrement": True})
    id = Column(Integer, primary_key=True)
    company_id = Column(Integer, ForeignKey("ptl_company.id"), nullable=False)
    need_id = Column(Integer, ForeignKey("ptl_need.id"))
    kind = Column(String(30), nullable=False)  # registration_approved|registration_rejected|documents_requested|approved|letter_ready
    key = Column(String(80))
    message = Column(Text)
    created_at = Column(DateTime, default=datetime.now, nullable=False)
