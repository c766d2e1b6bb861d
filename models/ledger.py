"""General ledger (GL): chart of accounts, periods, vouchers and their lines, business financial events
and the voucher templates that turn them into vouchers.

Money is Numeric(18, 2). A voucher line repeats its voucher's period and posted flag so the books
(trial balance, ledgers, close) are single-table GROUP BYs over indexed columns.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, JSON,
                        Numeric, String, Text, UniqueConstraint)
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin

MONEY = Numeric(18, 2)
RATE = Numeric(9, 6)

ACCOUNT_CATEGORIES = ("asset", "liability", "common", "equity", "cost", "profit_loss")
DIRECTIONS = ("debit", "credit")
VOUCHER_TYPES = ("ji", "shou", "fu", "zhuan")  # 记 收 付 转
VOUCHER_STATUSES = ("draft", "reviewed", "posted")
VOUCHER_TYPE_CHARS = {"ji": "记", "shou": "收", "fu": "付", "zhuan": "转"}
PERIOD_STATUSES = ("open", "closed")
EVENT_STATUSES = ("pending", "vouchered", "rejected")


class Account(AuditMixin, Model):
    """科目: first level has a 4-digit code; sub-accounts extend the parent's code (1002 → 100201)."""

    __tablename__ = "gl_account"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    parent_id = Column(Integer, ForeignKey("gl_account.id"), index=True)
    level = Column(Integer, nullable=False, default=1)
    category = Column(String(12), nullable=False)  # ACCOUNT_CATEGORIES
    direction = Column(String(6), nullable=False)  # balance direction: debit | credit
    is_cash = Column(Boolean, nullable=False, default=False)  # cash or bank: vouchers need the cashier's sign
    aux_customer = Column(Boolean, nullable=False, default=False)  # auxiliary dimensions required on lines
    aux_department = Column(Boolean, nullable=False, default=False)
    aux_project = Column(Boolean, nullable=False, default=False)
    aux_bank = Column(Boolean, nullable=False, default=False)
    enabled = Column(Boolean, nullable=False, default=True)
    parent = relationship("Account", remote_side=[id], backref="children")

    def __repr__(self):
        return f"{self.code} {self.name}"


class Period(AuditMixin, Model):
    """会计期间: one per month; a closed period accepts no posting."""

    __tablename__ = "gl_period"
    __table_args__ = (UniqueConstraint("year", "month", name="uq_period_year_month"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    year = Column(Integer, nullable=False)
    month = Column(Integer, nullable=False)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)
    status = Column(String(8), nullable=False, default="open")  # PERIOD_STATUSES
    closed_at = Column(DateTime)
    closed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    version_id = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version_id}

    def __repr__(self):
        return f"{self.year}-{self.month:02d}"


class Voucher(AuditMixin, Model):
    """凭证. Number per type per period without gaps; posted vouchers are never changed (reversal instead)."""

    __tablename__ = "gl_voucher"
    __table_args__ = (
        UniqueConstraint("period_id", "voucher_type", "number", name="uq_voucher_number"),
        UniqueConstraint("post_seq", name="uq_voucher_post_seq"),
        AuditMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    period_id = Column(Integer, ForeignKey("gl_period.id"), nullable=False, index=True)
    voucher_type = Column(String(6), nullable=False, default="ji")  # VOUCHER_TYPES
    number = Column(Integer, nullable=False)
    voucher_date = Column(Date, nullable=False, index=True)
    summary = Column(String(200))
    attachment_count = Column(Integer, nullable=False, default=0)
    status = Column(String(10), nullable=False, default="draft", index=True)  # VOUCHER_STATUSES
    total_debit = Column(MONEY, nullable=False, default=0)
    total_credit = Column(MONEY, nullable=False, default=0)
    maker_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    reviewer_id = Column(Integer, ForeignKey("ab_user.id"))
    reviewed_at = Column(DateTime)
    cashier_id = Column(Integer, ForeignKey("ab_user.id"))  # 出纳签字
    signed_at = Column(DateTime)
    poster_id = Column(Integer, ForeignKey("ab_user.id"))
    posted_at = Column(DateTime)
    reversal_of_id = Column(Integer, ForeignKey("gl_voucher.id"), unique=True)  # 红字冲销 of that voucher
    source = Column(String(20), nullable=False, default="manual")  # manual | event | accrual | carry_forward | year_end
    # Tamper evidence (GL-7): posting order and hash chained to the previous posted voucher.
    post_seq = Column(Integer)
    prev_hash = Column(String(64))
    hash = Column(String(64))
    version_id = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version_id}

    period = relationship("Period")
    lines = relationship("VoucherLine", back_populates="voucher", order_by="VoucherLine.line_no",
                         cascade="all, delete-orphan", lazy="selectin")
    maker = relationship("User", foreign_keys=[maker_id], lazy="selectin")
    reviewer = relationship("User", foreign_keys=[reviewer_id])
    cashier = relationship("User", foreign_keys=[cashier_id])
    poster = relationship("User", foreign_keys=[poster_id])
    reversal_of = relationship("Voucher", remote_side=[id], foreign_keys=[reversal_of_id])

    @property
    def display_number(self) -> str:
        """记-0001: type character and the number within its period."""
        return f"{VOUCHER_TYPE_CHARS.get(self.voucher_type, self.voucher_type)}-{self.number or 0:04d}"

    def __repr__(self):
        return f"{self.period} {self.display_number}" if self.period is not None else self.display_number


class ChainHead(Model):
    """The one row holding the end of the posted-voucher hash chain (GL-7). Posting locks it, so two
    concurrent posts take consecutive sequence numbers and never fork the chain."""

    __tablename__ = "gl_chain_head"
    id = Column(Integer, primary_key=True)
    last_seq = Column(Integer, nullable=False, default=0)
    last_hash = Column(String(64), nullable=False, default="")
    last_voucher_id = Column(Integer, ForeignKey("gl_voucher.id"))
    last_voucher = relationship("Voucher", foreign_keys=[last_voucher_id])  # lets one flush insert the voucher and point here


class VoucherLine(Model):
    """分录. Exactly one of debit/credit is non-zero (negative amounts: red-letter reversal)."""

    __tablename__ = "gl_voucher_line"
    __table_args__ = (
        Index("ix_line_period_account", "period_id", "account_id", "posted"),
        Index("ix_line_account_date", "account_id", "voucher_date"),
        {"sqlite_autoincrement": True},
    )
    id = Column(Integer, primary_key=True)
    voucher_id = Column(Integer, ForeignKey("gl_voucher.id", ondelete="CASCADE"), nullable=False, index=True)
    line_no = Column(Integer, nullable=False)
    summary = Column(String(200))
    account_id = Column(Integer, ForeignKey("gl_account.id"), nullable=False)
    debit = Column(MONEY, nullable=False, default=0)
    credit = Column(MONEY, nullable=False, default=0)
    # auxiliary dimensions (辅助核算)
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), index=True)
    department_id = Column(Integer, ForeignKey("sys_department.id"))
    project_code = Column(String(40), index=True)  # guarantee / project number
    bank_account = Column(String(60))
    # denormalised from the voucher, kept in step by the ledger service
    period_id = Column(Integer, ForeignKey("gl_period.id"), nullable=False)
    voucher_date = Column(Date, nullable=False)
    posted = Column(Boolean, nullable=False, default=False)

    voucher = relationship("Voucher", back_populates="lines")
    account = relationship("Account", lazy="selectin")
    customer = relationship("Customer")
    department = relationship("Department")


class BusinessEvent(AuditMixin, Model):
    """业务财务事件 (GL-2): the business tells finance that money moved; finance reviews it into one voucher."""

    __tablename__ = "gl_business_event"
    __table_args__ = (
        UniqueConstraint("source_type", "source_id", "kind", name="uq_event_source"),
        AuditMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    kind = Column(String(30), nullable=False, index=True)  # fee_received, margin_received, margin_refunded, ...
    event_date = Column(Date, nullable=False)
    amount = Column(MONEY, nullable=False)
    summary = Column(String(200))
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), index=True)
    department_id = Column(Integer, ForeignKey("sys_department.id"))
    project_code = Column(String(40))
    bank_account = Column(String(60))
    source_type = Column(String(30), nullable=False)  # e.g. guarantee, compensation, reimbursement
    source_id = Column(String(40), nullable=False)
    details = Column(JSON)  # extra amounts a template may use (e.g. {"principal": .., "interest": ..})
    status = Column(String(10), nullable=False, default="pending", index=True)  # EVENT_STATUSES
    voucher_id = Column(Integer, ForeignKey("gl_voucher.id"), unique=True)
    reviewed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    reviewed_at = Column(DateTime)
    reject_reason = Column(String(200))
    version_id = Column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version_id}

    voucher = relationship("Voucher")
    customer = relationship("Customer")
    department = relationship("Department")
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])


class VoucherTemplate(AuditMixin, Model):
    """凭证模板: how an event kind becomes a voucher; finance edits these in screens."""

    __tablename__ = "gl_voucher_template"
    id = Column(Integer, primary_key=True)
    event_kind = Column(String(30), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    voucher_type = Column(String(6), nullable=False, default="ji")
    summary = Column(String(200))  # may use {customer}, {project}, {summary}
    enabled = Column(Boolean, nullable=False, default=True)
    lines = relationship("VoucherTemplateLine", back_populates="template", order_by="VoucherTemplateLine.line_no",
                         cascade="all, delete-orphan")

    def __repr__(self):
        return self.name


class VoucherTemplateLine(Model):
    __tablename__ = "gl_voucher_template_line"
    __table_args__ = (CheckConstraint("side in ('debit', 'credit')", name="ck_template_line_side"),
                      {"sqlite_autoincrement": True})
    id = Column(Integer, primary_key=True)
    template_id = Column(Integer, ForeignKey("gl_voucher_template.id", ondelete="CASCADE"), nullable=False, index=True)
    line_no = Column(Integer, nullable=False, default=1)
    side = Column(String(6), nullable=False)
    account_id = Column(Integer, ForeignKey("gl_account.id"), nullable=False)
    amount_field = Column(String(30), nullable=False, default="amount")  # "amount" or a key of event.details
    summary = Column(String(200))
    template = relationship("VoucherTemplate", back_populates="lines")
    account = relationship("Account")


class CloseRun(AuditMixin, Model):
    """One month-end run (期末处理) with its progress, for the progress bar and the audit trail."""

    __tablename__ = "gl_close_run"
    id = Column(Integer, primary_key=True)
    period_id = Column(Integer, ForeignKey("gl_period.id"), nullable=False, index=True)
    action = Column(String(10), nullable=False, default="close")  # close | reopen
    status = Column(String(10), nullable=False, default="queued")  # queued | running | done | failed
    progress = Column(Integer, nullable=False, default=0)  # percent
    message = Column(Text)
    reason = Column(String(300))  # required for reopen
    started_at = Column(DateTime, default=datetime.now)
    finished_at = Column(DateTime)
    period = relationship("Period")


class ReportLine(AuditMixin, Model):
    """Balance-sheet / income-statement line → accounts mapping (configurable, GL-5)."""

    __tablename__ = "gl_report_line"
    __table_args__ = (UniqueConstraint("report", "line_no", name="uq_report_line"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    report = Column(String(20), nullable=False)  # balance_sheet | income_statement
    line_no = Column(Integer, nullable=False)
    name = Column(String(100), nullable=False)
    section = Column(String(20))  # e.g. current_assets, liabilities, equity, revenue
    # "+1002,+1012,-1231" account codes with signs, or "=L1+L2" sums of other lines
    formula = Column(String(500), nullable=False, default="")
    bold = Column(Boolean, nullable=False, default=False)
