"""Staff requests (我的申请, WB-4 / OA-1): leave, staff borrowing (借款) and expense reimbursement (报销).

Every request goes through the approval engine (kinds office.leave / office.borrowing / office.reimbursement).
An approved borrowing or reimbursement is paid by the cashier (出纳); the payment records business financial
events that finance reviews into vouchers. A borrowing stays open (`outstanding`) until later reimbursements
offset it or the staff member repays it (StaffRepayment). Rules: app/services/office_requests.py.
"""
from flask_appbuilder import Model
from sqlalchemy import Column, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin

KINDS = ("leave", "borrowing", "reimbursement")
# draft: saved, not (or no longer) in approval; pending: in the approval engine; approved: decided, waiting
# for the payment (borrowing, reimbursement) or done (leave); paid: the cashier paid / settled it;
# rejected: not approved; cancelled: dropped by the requester while a draft.
STATUSES = ("draft", "pending", "approved", "rejected", "paid", "cancelled")


class OfficeRequest(AuditMixin, Model):
    __tablename__ = "oa_request"
    __table_args__ = (
        Index("ix_oa_request_requester_kind", "requester_id", "kind"),
        Index("ix_oa_request_kind_status", "kind", "status"),
        AuditMixin.__table_args__,
    )

    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    kind = Column(String(20), nullable=False)
    requester_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    department_id = Column(Integer, ForeignKey("sys_department.id"), index=True)
    status = Column(String(12), default="draft", nullable=False, index=True)
    reason = Column(String(500), nullable=False)  # purpose of the borrowing, what was spent, why the leave
    request_date = Column(Date, nullable=False)  # business date of the filing
    # leave
    leave_type = Column(String(20))
    date_from = Column(Date)
    date_to = Column(Date)
    days = Column(Numeric(6, 1))
    # borrowing and reimbursement
    amount = Column(Numeric(18, 2))
    expense_type = Column(String(20))  # reimbursement: travel / office / entertainment / other
    invoice_count = Column(Integer)
    offset_borrowing_id = Column(Integer, ForeignKey("oa_request.id"), index=True)  # borrowing to settle first
    outstanding = Column(Numeric(18, 2))  # borrowing: what the staff member still owes once it is paid
    # the decision and the payment
    decided_on = Column(Date)
    paid_on = Column(Date)
    paid_by_id = Column(Integer, ForeignKey("ab_user.id"))
    paid_amount = Column(Numeric(18, 2))  # cash paid out
    offset_amount = Column(Numeric(18, 2))  # reimbursement: part that settled the borrowing
    bank_account = Column(String(60))
    payment_event_id = Column(Integer, ForeignKey("gl_business_event.id"))
    offset_event_id = Column(Integer, ForeignKey("gl_business_event.id"))
    note = Column(Text)

    requester = relationship("User", foreign_keys=[requester_id], lazy="selectin")
    department = relationship("Department", foreign_keys=[department_id], lazy="selectin")
    offset_borrowing = relationship("OfficeRequest", remote_side=[id], foreign_keys=[offset_borrowing_id])
    repayments = relationship("StaffRepayment", back_populates="borrowing", order_by="StaffRepayment.id",
                              cascade="all, delete-orphan")

    def __repr__(self):
        return self.code or ""


class StaffRepayment(AuditMixin, Model):
    """Money a staff member paid back on a borrowing (the cashier records it)."""

    __tablename__ = "oa_repayment"

    id = Column(Integer, primary_key=True)
    borrowing_id = Column(Integer, ForeignKey("oa_request.id"), nullable=False, index=True)
    amount = Column(Numeric(18, 2), nullable=False)
    received_on = Column(Date, nullable=False)
    received_by_id = Column(Integer, ForeignKey("ab_user.id"))
    bank_account = Column(String(60))
    event_id = Column(Integer, ForeignKey("gl_business_event.id"))
    note = Column(String(200))

    borrowing = relationship("OfficeRequest", back_populates="repayments")
