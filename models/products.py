"""Guarantee products (担保品种, BIZ-1) and cooperating banks (合作银行, BIZ-2).

The guarantee kind is a code of the sys_dict type "guarantee_kind" (seeded by app/services/reference.py),
so administrators add kinds in the dictionary screen without code. Counter-guarantee kinds (BIZ-10) are a
fixed list because each kind has its own data (collateral, guarantor customer…) in the business tables.
"""
from flask_appbuilder import Model
from sqlalchemy import JSON, Boolean, Column, Date, Integer, Numeric, String, Text, true

from models.mixins import AuditMixin

# BIZ-10 counter-guarantee measure kinds: code -> Chinese label (the msgid of the label is the English word).
COUNTER_KINDS = {
    "pledge": "质押",
    "mortgage": "抵押",
    "surety": "保证",
    "credit": "信用",
    "lien": "留置",
    "deposit": "保证金",
}
COUNTER_KIND_CODES = tuple(COUNTER_KINDS)

# Guarantee kinds are the items of this dictionary (built-in ones seeded by app/services/reference.py).
GUARANTEE_KIND_DICT = "guarantee_kind"


class Product(AuditMixin, Model):
    __tablename__ = "biz_product"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    name = Column(String(100), unique=True, nullable=False)
    guarantee_kind = Column(String(50), nullable=False, index=True)  # sys_dict "guarantee_kind" item code
    amount_min = Column(Numeric(18, 2), nullable=False)
    amount_max = Column(Numeric(18, 2), nullable=False)
    term_min = Column(Integer, nullable=False)  # months
    term_max = Column(Integer, nullable=False)  # months
    fee_rate_min = Column(Numeric(9, 6), nullable=False)  # annual rate, 0.02 = 2 %
    fee_rate_max = Column(Numeric(9, 6), nullable=False)
    counter_kinds = Column(JSON)  # list of COUNTER_KINDS codes every application of the product must carry
    flow_code = Column(String(50))  # optional default approval flow (the approval engine)
    description = Column(Text)
    active = Column(Boolean, default=True, server_default=true(), nullable=False)

    def __repr__(self):
        return f"{self.name} ({self.code})" if self.code else (self.name or "")


class CooperatingBank(AuditMixin, Model):
    __tablename__ = "biz_bank"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    name = Column(String(100), unique=True, nullable=False)
    total_line = Column(Numeric(18, 2), nullable=False)  # 授信总额度
    single_cap = Column(Numeric(18, 2), nullable=False)  # 单笔上限
    margin_ratio = Column(Numeric(9, 6), nullable=False, default=0)  # 保证金比例, 0.10 = 10 %
    risk_share_ratio = Column(Numeric(9, 6), nullable=False, default=0)  # 银行风险分担比例
    valid_from = Column(Date, nullable=False)
    valid_to = Column(Date, nullable=False)
    contact_person = Column(String(50))
    contact_phone = Column(String(30))
    note = Column(String(500))
    active = Column(Boolean, default=True, server_default=true(), nullable=False)

    # Line usage for lists, show pages and the API (BIZ-2): computed from the guarantees by the rule in
    # app/services/banks.py, one query per request for every bank (not a column).
    @property
    def line_used(self):
        from app.services.banks import cached_usage

        return cached_usage(self)["used"]

    @property
    def line_available(self):
        from app.services.banks import cached_usage

        return cached_usage(self)["available"]

    def __repr__(self):
        return self.name or ""
