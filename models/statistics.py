"""Workbench and statistics (issue 8, WB-1, STAT-3): quick-desktop choices, the regulatory weight table,
the asset-class mapping of the ledger accounts and the monthly snapshots of the regulatory indicators."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, Numeric, String, UniqueConstraint, true
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin


class QuickModule(Model):
    """One quick module (a menu entry, by its FAB menu name) on a user's desktop, in the user's order."""

    __tablename__ = "wb_quick_module"
    __table_args__ = (UniqueConstraint("user_id", "menu_name", name="uq_wb_quick_module"),)
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True)
    menu_name = Column(String(100), nullable=False)
    position = Column(Integer, nullable=False, default=0)


class WeightRule(AuditMixin, Model):
    """A row of the weight table of 融资担保责任余额 (计量办法). The first active rule (by priority) whose
    conditions all hold classifies a guarantee in force; empty conditions hold for everything. With a
    per-customer cap the weight applies only while the customer's balance under the rule is at most the cap;
    a customer above it counts at 100 %. Guarantees no rule matches count at 100 %."""

    __tablename__ = "reg_weight_rule"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    priority = Column(Integer, nullable=False, default=100)
    guarantee_kinds = Column(String(200))  # product guarantee kinds (dictionary guarantee_kind), comma separated
    customer_kind = Column(String(12))  # individual | corporate
    enterprise_sizes = Column(String(50))  # dictionary enterprise_size codes, e.g. "S,XS" (small and micro)
    household_types = Column(String(50))  # dictionary household_type codes, e.g. "2" (rural: farmers)
    product_codes = Column(String(500))  # product codes, comma separated
    issuer_grades = Column(String(100))  # current rating grades of the customer (bond issuer), e.g. "AAA,AA+"
    balance_cap = Column(Numeric(18, 2))  # per customer
    weight = Column(Numeric(9, 4), nullable=False)  # 0.75 = 75 %
    active = Column(Boolean, default=True, server_default=true(), nullable=False)
    note = Column(String(300))

    def __repr__(self):
        return self.name or ""


class AssetClassMap(AuditMixin, Model):
    """Asset-ratio class of a ledger account (and its sub-accounts; the longest code wins): I, II, III, or
    "deduct" (应收代偿款, taken off the total assets). Asset accounts not listed are class III."""

    __tablename__ = "reg_asset_class"
    id = Column(Integer, primary_key=True)
    account_code = Column(String(20), unique=True, nullable=False)
    asset_class = Column(String(10), nullable=False)  # I | II | III | deduct
    note = Column(String(200))

    def __repr__(self):
        return self.account_code or ""


class RegulatorySnapshot(Model):
    """The regulatory indicators of one month, as computed at its end (or recomputed on demand)."""

    __tablename__ = "reg_snapshot"
    id = Column(Integer, primary_key=True)
    period = Column(String(7), unique=True, nullable=False)  # "2026-10"
    computed_at = Column(DateTime, default=datetime.now, nullable=False)
    computed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    worst_status = Column(String(12), nullable=False)  # compliant | near | breached
    figures = Column(JSON, nullable=False)  # {indicator code: {figure, limit, ratio, status}}
    computed_by = relationship("User", foreign_keys=[computed_by_id])
