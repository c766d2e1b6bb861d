"""Corporate customers' financial statements (CUS-2): balance sheet and income statement per period.

A statement header per customer, period end and period type; one row per item with its amount. The
catalogue of items (codes, names, order, subtotal formulas) is code: app/services/statements.py. The
rating engine reads the figures by item code through statements.statement_values().
"""
from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin

PERIOD_TYPES = ("annual", "half", "quarter", "month")


class FinancialStatement(AuditMixin, Model):
    __tablename__ = "cus_fin_statement"
    __table_args__ = (
        UniqueConstraint("customer_id", "period_end", "period_type", name="uq_fin_statement_period"),
        AuditMixin.__table_args__,
    )
    __scope_parent__ = "customer"  # data scope: whoever sees the customer sees its statements

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("cus_customer.id", ondelete="CASCADE"), nullable=False, index=True)
    period_end = Column(Date, nullable=False)
    period_type = Column(String(10), nullable=False, default="annual")  # annual | half | quarter | month
    audited = Column(Boolean, nullable=False, default=False)
    auditor = Column(String(100))  # the accounting firm when audited
    currency_unit = Column(String(10), nullable=False, default="元")
    note = Column(String(300))

    customer = relationship("Customer", foreign_keys=[customer_id])
    items = relationship("FinancialStatementItem", back_populates="statement", cascade="all, delete-orphan",
                         lazy="selectin", passive_deletes=True)

    def __repr__(self):
        return f"{self.period_end:%Y-%m-%d} {self.period_type}" if self.period_end else "statement"


class FinancialStatementItem(Model):
    """One figure of a statement. Changes are logged (old → new amount) like any business record."""

    __tablename__ = "cus_fin_statement_item"
    __table_args__ = (UniqueConstraint("statement_id", "item_code", name="uq_fin_statement_item"),)
    __audited__ = True
    __scope_parent__ = "statement"  # which is scoped through its customer

    id = Column(Integer, primary_key=True)
    statement_id = Column(Integer, ForeignKey("cus_fin_statement.id", ondelete="CASCADE"), nullable=False)
    item_code = Column(String(40), nullable=False)
    amount = Column(Numeric(18, 2), nullable=False)

    statement = relationship("FinancialStatement", back_populates="items")
