"""Customer relations (CUS-4), transfers between account managers and merges of duplicates (CUS-8).

A relation links two customers: the row (customer A, related party B, kind K) reads "B is A's K"
(B 是 A 的股东 / 实际控制人 / 法定代表人 / 担保人). Symmetric kinds (spouse, group member, same controller) are
stored once, the smaller customer id first, and read both ways. The rules live in app/services/relations.py;
the transfer and merge operations in app/services/customer_maintenance.py.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin

RELATION_KINDS = ("shareholder", "actual_controller", "legal_representative", "spouse", "guarantor",
                  "group_member", "same_controller")
SYMMETRIC_KINDS = frozenset({"spouse", "group_member", "same_controller"})


class CustomerRelation(AuditMixin, Model):
    """客户关联关系: `related` is `customer`'s <kind> (for symmetric kinds: each is the other's)."""

    __tablename__ = "cus_relation"
    __scope_parent__ = "customer"
    __table_args__ = (
        # also the index of the walk from a customer to its related parties (customer_id first)
        UniqueConstraint("customer_id", "related_id", "kind", name="uq_relation_pair_kind"),
        # the walk the other way (from a related party back to the customers it is related to)
        Index("ix_relation_related_customer", "related_id", "customer_id"),
        AuditMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("cus_customer.id", ondelete="CASCADE"), nullable=False)
    related_id = Column(Integer, ForeignKey("cus_customer.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(20), nullable=False, index=True)
    share_pct = Column(Numeric(9, 4))  # shareholding in percent (shareholder only)
    valid_from = Column(Date)
    valid_to = Column(Date)
    note = Column(String(500))

    customer = relationship("Customer", foreign_keys=[customer_id], lazy="selectin")
    related = relationship("Customer", foreign_keys=[related_id], lazy="selectin")

    def __repr__(self):
        return f"{self.customer} - {self.kind} - {self.related}"


class CustomerTransfer(AuditMixin, Model):
    """客户移交: one customer handed from one account manager (and department) to another."""

    __tablename__ = "cus_transfer"
    __scope_parent__ = "customer"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("cus_customer.id", ondelete="CASCADE"), nullable=False, index=True)
    from_manager_id = Column(Integer, ForeignKey("ab_user.id"))
    to_manager_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    from_department_id = Column(Integer, ForeignKey("sys_department.id"))
    to_department_id = Column(Integer, ForeignKey("sys_department.id"))
    reason = Column(String(500), nullable=False)
    business_date = Column(Date, nullable=False)
    transferred_by_id = Column(Integer, ForeignKey("ab_user.id"))
    transferred_at = Column(DateTime, default=datetime.now, nullable=False, index=True)

    customer = relationship("Customer", lazy="selectin")
    from_manager = relationship("User", foreign_keys=[from_manager_id], lazy="selectin")
    to_manager = relationship("User", foreign_keys=[to_manager_id], lazy="selectin")
    from_department = relationship("Department", foreign_keys=[from_department_id], lazy="selectin")
    to_department = relationship("Department", foreign_keys=[to_department_id], lazy="selectin")
    transferred_by = relationship("User", foreign_keys=[transferred_by_id], lazy="selectin")


class CustomerMerge(AuditMixin, Model):
    """客户合并: the duplicate's records moved to the survivor, the duplicate deleted. The duplicate is kept
    here as a snapshot (code, name, identity) since its row is gone; `details` is JSON: rows moved per table
    and the rows dropped because the survivor already had the same (unique) record."""

    __tablename__ = "cus_merge"
    __scope_parent__ = "customer"
    id = Column(Integer, primary_key=True)
    survivor_id = Column(Integer, ForeignKey("cus_customer.id", ondelete="CASCADE"), nullable=False, index=True)
    duplicate_id = Column(Integer, nullable=False, index=True)  # no foreign key: that customer is deleted
    duplicate_code = Column(String(30), nullable=False)
    duplicate_name = Column(String(200), nullable=False)
    duplicate_id_number = Column(String(30))
    reason = Column(String(500), nullable=False)
    rows_moved = Column(Integer, nullable=False, default=0)
    rows_dropped = Column(Integer, nullable=False, default=0)
    details = Column(Text)
    business_date = Column(Date, nullable=False)
    merged_by_id = Column(Integer, ForeignKey("ab_user.id"))
    merged_at = Column(DateTime, default=datetime.now, nullable=False)

    customer = relationship("Customer", lazy="selectin")
    merged_by = relationship("User", foreign_keys=[merged_by_id], lazy="selectin")
