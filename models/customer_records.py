"""Customer sub-records (CUS-1, 2, 5, 9, 10): the many-row groups of a customer's file, watch lists,
guarantee partners and credit bureau records.

Every sub-record belongs to one customer (`customer_id`, deleted with it) and is scoped through it
(`__scope_parent__`: app/services/data_scope.py filters child rows by their parent's data scope).
The rules live in app/services/customers.py.
"""
from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, Date, ForeignKey, Index, Integer, Numeric, String, Text, false, text, true,
)
from sqlalchemy.orm import declared_attr, relationship

from models.mixins import AuditMixin


class CustomerChild(AuditMixin):
    """A row of one of a customer's multi-row groups."""

    __scope_parent__ = "customer"

    @declared_attr
    def customer_id(cls):
        return Column(Integer, ForeignKey("cus_customer.id", ondelete="CASCADE"), nullable=False, index=True)

    @declared_attr
    def customer(cls):
        return relationship("Customer", lazy="selectin")


# --- individual customers (CUS-1) -------------------------------------------------------------------

class CustomerResume(CustomerChild, Model):
    """个人履历: one row per position held."""

    __tablename__ = "cus_resume"
    id = Column(Integer, primary_key=True)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date)
    employer = Column(String(200), nullable=False)
    department = Column(String(100))
    position = Column(String(50))
    employer_nature = Column(String(10))  # dictionary employer_nature
    employer_phone = Column(String(30))
    employer_post_code = Column(String(6))
    employer_address = Column(String(300))

    def __repr__(self):
        return self.employer or ""


class FamilyMember(CustomerChild, Model):
    """家庭成员."""

    __tablename__ = "cus_family_member"
    id = Column(Integer, primary_key=True)
    relation = Column(String(10), nullable=False)  # dictionary family_relation
    name = Column(String(50), nullable=False)
    id_type = Column(String(20))  # dictionary id_type
    id_number = Column(String(30))
    gender = Column(String(2))  # dictionary gender
    phone = Column(String(30))
    employer = Column(String(200))
    health = Column(String(10))  # dictionary health

    def __repr__(self):
        return self.name or ""


class CustomerStore(CustomerChild, Model):
    """门店信息."""

    __tablename__ = "cus_store"
    id = Column(Integer, primary_key=True)
    store_name = Column(String(200), nullable=False)  # 门店字号
    registered_capital = Column(Numeric(18, 2))
    business_scale = Column(String(100))
    address = Column(String(300))
    licence_no = Column(String(30))  # 营业执照号码
    tax_reg_no = Column(String(30))  # 税务登记证号码
    registered_on = Column(Date)
    last_inspection_on = Column(Date)  # 最新年检日期
    basic_account_no = Column(String(40))
    basic_account_bank = Column(String(100))

    def __repr__(self):
        return self.store_name or ""


# --- corporate customers (CUS-2) ------------------------------------------------------------------

class BankAccount(CustomerChild, Model):
    """金融业务信息: the company's bank accounts."""

    __tablename__ = "cus_bank_account"
    id = Column(Integer, primary_key=True)
    bank_name = Column(String(100), nullable=False)
    account_no = Column(String(40), nullable=False)
    account_kind = Column(String(10), nullable=False)  # basic | general | special | temporary
    opened_on = Column(Date)
    balance = Column(Numeric(18, 2))
    note = Column(String(300))

    def __repr__(self):
        return f"{self.bank_name} {self.account_no}"


class ExistingLoan(CustomerChild, Model):
    """金融业务信息: loans the company owes (bank and other lenders)."""

    __tablename__ = "cus_existing_loan"
    id = Column(Integer, primary_key=True)
    lender = Column(String(100), nullable=False)
    loan_kind = Column(String(10))  # dictionary loan_kind
    amount = Column(Numeric(18, 2), nullable=False)
    balance = Column(Numeric(18, 2), nullable=False)
    start_date = Column(Date)
    end_date = Column(Date)
    guarantee_method = Column(String(10))  # dictionary guarantee_method
    classification = Column(String(10))  # dictionary loan_classification (五级分类)
    note = Column(String(300))

    def __repr__(self):
        return self.lender or ""


class ExternalGuarantee(CustomerChild, Model):
    """金融业务信息: guarantees the company has given for others (或有负债)."""

    __tablename__ = "cus_external_guarantee"
    id = Column(Integer, primary_key=True)
    guaranteed_party = Column(String(200), nullable=False)
    creditor = Column(String(100))
    amount = Column(Numeric(18, 2), nullable=False)
    balance = Column(Numeric(18, 2))
    start_date = Column(Date)
    end_date = Column(Date)
    guarantee_method = Column(String(10))  # dictionary guarantee_method
    note = Column(String(300))

    def __repr__(self):
        return self.guaranteed_party or ""


class KeyPerson(CustomerChild, Model):
    """关键人信息: legal representative, actual controller, managers."""

    __tablename__ = "cus_key_person"
    id = Column(Integer, primary_key=True)
    role = Column(String(10), nullable=False)  # dictionary key_person_role
    name = Column(String(50), nullable=False)
    id_type = Column(String(20))
    id_number = Column(String(30))
    gender = Column(String(2))
    birth_date = Column(Date)
    phone = Column(String(30))
    education = Column(String(10))  # dictionary education
    industry_years = Column(Integer)  # 从业年限
    resume = Column(Text)

    def __repr__(self):
        return self.name or ""


class Shareholder(CustomerChild, Model):
    """股东信息: shares of one company add up to at most 100%."""

    __tablename__ = "cus_shareholder"
    id = Column(Integer, primary_key=True)
    shareholder_kind = Column(String(12), nullable=False)  # individual | corporate
    name = Column(String(200), nullable=False)
    id_type = Column(String(20))
    id_number = Column(String(30))
    contribution = Column(Numeric(18, 2))  # 出资额 (yuan)
    share_pct = Column(Numeric(9, 6), nullable=False)  # 持股比例 %
    contribution_method = Column(String(10))  # dictionary contribution_method
    contribution_date = Column(Date)

    def __repr__(self):
        return self.name or ""


class MajorEvent(CustomerChild, Model):
    """重大经济事件."""

    __tablename__ = "cus_major_event"
    id = Column(Integer, primary_key=True)
    event_date = Column(Date, nullable=False)
    event_kind = Column(String(10), nullable=False)  # dictionary major_event_kind
    description = Column(Text, nullable=False)
    amount = Column(Numeric(18, 2))
    impact = Column(String(300))

    def __repr__(self):
        return self.description[:30] if self.description else ""


# --- credit bureau (CUS-10) ----------------------------------------------------------------------

class CreditReport(CustomerChild, Model):
    """征信查询: the result of one credit report query (the report file is an attachment)."""

    __tablename__ = "cus_credit_report"
    id = Column(Integer, primary_key=True)
    query_date = Column(Date, nullable=False, index=True)
    queried_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    query_reason = Column(String(10), nullable=False)  # dictionary credit_query_reason
    report_no = Column(String(40))
    credit_accounts = Column(Integer)  # 信贷账户数
    outstanding_balance = Column(Numeric(18, 2))  # 未结清余额
    overdue_accounts = Column(Integer)  # 当前逾期账户数
    overdue_amount = Column(Numeric(18, 2))  # 当前逾期金额
    overdue_times_5y = Column(Integer)  # 近五年逾期次数
    max_overdue_months = Column(Integer)  # 最长逾期月数
    guarantee_balance = Column(Numeric(18, 2))  # 对外担保余额
    queries_6m = Column(Integer)  # 近六个月查询次数
    result = Column(String(10), nullable=False)  # clean | minor | adverse
    summary = Column(Text)

    queried_by = relationship("User", foreign_keys=[queried_by_id], lazy="selectin")

    def __repr__(self):
        return f"{self.query_date}"


# --- watch lists (CUS-5) -------------------------------------------------------------------------

class WatchEntry(CustomerChild, Model):
    """关注客户: a customer on the VIP, potential or black list. Entries are never deleted: a removal
    keeps the entry with who removed it, when and why; one active entry per customer and list."""

    __tablename__ = "cus_watch_entry"
    __table_args__ = (
        Index("uq_watch_active", "customer_id", "list_kind", unique=True,
              sqlite_where=text("active = 1"), postgresql_where=text("active")),
        AuditMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    list_kind = Column(String(10), nullable=False, index=True)  # vip | potential | blacklist
    reason = Column(String(500), nullable=False)
    set_on = Column(Date, nullable=False)
    set_by_id = Column(Integer, ForeignKey("ab_user.id"))
    active = Column(Boolean, default=True, server_default=true(), nullable=False, index=True)
    removed_on = Column(Date)
    removed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    removal_reason = Column(String(500))

    set_by = relationship("User", foreign_keys=[set_by_id], lazy="selectin")
    removed_by = relationship("User", foreign_keys=[removed_by_id], lazy="selectin")

    def __repr__(self):
        return f"{self.list_kind}"


# --- guarantee partners (CUS-9) ------------------------------------------------------------------

class PartnerCompany(AuditMixin, Model):
    """担保中心管理: another guarantee company we co-guarantee or re-guarantee with."""

    __tablename__ = "cus_partner_company"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False, unique=True)
    credit_code = Column(String(18), nullable=False, unique=True)
    partner_kind = Column(String(20), nullable=False)  # guarantee | reguarantee | bank | other
    contact_person = Column(String(50))
    contact_phone = Column(String(30))
    address = Column(String(300))
    cooperation_limit = Column(Numeric(18, 2), nullable=False)  # 合作总额度
    single_limit = Column(Numeric(18, 2))  # 单笔限额
    agreement_start = Column(Date)
    agreement_end = Column(Date)
    status = Column(String(10), nullable=False, default="active")  # active | suspended | ended
    note = Column(String(500))

    def __repr__(self):
        return self.name or ""


class GuaranteeGroup(AuditMixin, Model):
    """联保体: customers who guarantee each other's loans."""

    __tablename__ = "cus_guarantee_group"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False, unique=True)
    established_on = Column(Date, nullable=False)
    group_limit = Column(Numeric(18, 2), nullable=False)  # 联保总额度
    member_limit = Column(Numeric(18, 2))  # 成员单户限额
    status = Column(String(10), nullable=False, default="active")  # active | dissolved
    dissolved_on = Column(Date)
    note = Column(String(500))

    members = relationship("GuaranteeGroupMember", back_populates="group")

    def __repr__(self):
        return self.name or ""


class GuaranteeGroupMember(AuditMixin, Model):
    """A customer in a joint-guarantee group; a customer is in at most one active group."""

    __tablename__ = "cus_guarantee_group_member"
    __table_args__ = (
        Index("uq_group_member_active", "customer_id", unique=True,
              sqlite_where=text("active = 1"), postgresql_where=text("active")),
        AuditMixin.__table_args__,
    )
    __scope_parent__ = "customer"
    id = Column(Integer, primary_key=True)
    group_id = Column(Integer, ForeignKey("cus_guarantee_group.id", ondelete="CASCADE"), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("cus_customer.id", ondelete="CASCADE"), nullable=False, index=True)
    joined_on = Column(Date, nullable=False)
    is_leader = Column(Boolean, default=False, server_default=false(), nullable=False)
    active = Column(Boolean, default=True, server_default=true(), nullable=False)
    left_on = Column(Date)

    group = relationship("GuaranteeGroup", back_populates="members", lazy="selectin")
    customer = relationship("Customer", lazy="selectin")

    def __repr__(self):
        return str(self.customer) if self.customer else ""
