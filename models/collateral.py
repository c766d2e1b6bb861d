"""Collateral (押品管理, COL-1..4): the registry, rights certificates (权证) and their vault, valuations, monitoring.

* Collateral: one item of property that secures a customer's guarantees; kind-specific fields are
  administrator-defined (CollateralFieldDef, values in `extra` like customer elements); it secures a guarantee
  through the guarantee's counter-guarantee measure (`biz_counter_measure.collateral_id`).
* CollateralCertificate: a rights certificate with its place: not yet in the vault, in the vault (location),
  lent (借阅, to come back) or out (出库, e.g. returned to the owner at release).
* CertificateMovement: every 入库 / 借阅 / 归还 / 出库; lending and taking out are approved through the approval
  engine (kind "collateral.certificate_out") before the certificate moves.
* CollateralValuation: appraisals and revaluations (history; the latest sets the collateral's value).
* CollateralMonitoring: monitoring reports (押品监管) on the collateral's schedule.
Rules: app/services/collateral.py.
"""
from flask_appbuilder import Model
from sqlalchemy import (
    JSON, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, false,
)
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin

KINDS = ("real_estate", "vehicle", "equipment", "inventory", "equity", "receivable", "deposit",
         "intellectual_property", "other")
OWNER_TYPES = ("customer", "third_party")
# registered: in the registry, securing nothing in force yet; pledged: linked to a counter-guarantee measure;
# released: the guarantees it secured ended (certificates queued for return); disposed: sold or foreclosed.
STATUSES = ("registered", "pledged", "released", "disposed")
# registered: recorded, not yet handed to the vault; in_vault; lent (借阅, due back); out (出库, gone for good)
CERTIFICATE_STATUSES = ("registered", "in_vault", "lent", "out")
MOVE_ACTIONS = ("in", "lend", "back", "out")
MOVE_STATUSES = ("pending", "done", "rejected", "withdrawn")
FIELD_TYPES = ("text", "number", "date", "choice")


class CollateralFieldDef(AuditMixin, Model):
    """An administrator-defined field of one collateral kind (or of every kind: kind "all")."""

    __tablename__ = "col_field_def"
    id = Column(Integer, primary_key=True)
    code = Column(String(40), unique=True, nullable=False)  # key in Collateral.extra
    label = Column(String(60), nullable=False)
    kind = Column(String(30), nullable=False, default="all")  # "all" or one of KINDS
    field_type = Column(String(10), nullable=False, default="text")
    dict_type = Column(String(50))  # dictionary of a choice field
    required = Column(Boolean, nullable=False, default=False)
    sort_order = Column(Integer, nullable=False, default=0)
    enabled = Column(Boolean, nullable=False, default=True)

    def __repr__(self):
        return self.label or ""


class Collateral(AuditMixin, Model):
    __tablename__ = "col_collateral"
    # Visible exactly when the customer it secures for is (an account manager sees his customers' collateral).
    __scope_parent__ = "customer"
    __table_args__ = (
        Index("ix_col_collateral_kind_status", "kind", "status"),
        AuditMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    name = Column(String(200), nullable=False)
    kind = Column(String(30), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), nullable=False, index=True)  # whose business
    owner_type = Column(String(12), nullable=False, default="customer")
    owner_customer_id = Column(Integer, ForeignKey("cus_customer.id"), index=True)  # a third party in the file
    owner_name = Column(String(200), nullable=False, index=True)
    owner_id_number = Column(String(40))
    location = Column(String(300))  # where the property itself is (address, warehouse)
    description = Column(Text)
    status = Column(String(12), nullable=False, default="registered", index=True)
    value = Column(Numeric(18, 2))  # latest appraised value
    value_date = Column(Date)
    max_mortgage_rate = Column(Numeric(9, 6))  # 抵押率上限: the share of the value that may be lent against
    insurance_company = Column(String(200))
    insurance_policy = Column(String(60))
    insurance_expiry = Column(Date, index=True)
    monitor_months = Column(Integer)  # months between monitoring reports (none: not monitored)
    next_monitor_date = Column(Date, index=True)
    extra = Column(JSON(none_as_null=True))  # kind-specific fields {code: text}
    note = Column(Text)

    customer = relationship("Customer", foreign_keys=[customer_id], lazy="selectin")
    owner_customer = relationship("Customer", foreign_keys=[owner_customer_id], lazy="selectin")
    certificates = relationship("CollateralCertificate", back_populates="collateral", order_by="CollateralCertificate.id")
    valuations = relationship("CollateralValuation", back_populates="collateral",
                              order_by="(CollateralValuation.valuation_date.desc(), CollateralValuation.id.desc())")
    monitorings = relationship("CollateralMonitoring", back_populates="collateral",
                               order_by="(CollateralMonitoring.report_date.desc(), CollateralMonitoring.id.desc())")

    def __repr__(self):
        return f"{self.name} ({self.code})" if self.code else (self.name or "")

    def __getattr__(self, name):
        # `collateral.extra__<code>`: a kind-specific field read like a column (show pages, exports)
        if name.startswith("extra__"):
            return (self.extra or {}).get(name[len("extra__"):])
        raise AttributeError(name)


class CollateralCertificate(AuditMixin, Model):
    """权证: number, issuing authority, registration date, mortgage registration number, and where it is."""

    __tablename__ = "col_certificate"
    __scope_parent__ = "collateral"
    __table_args__ = (
        Index("ix_col_certificate_status_location", "status", "vault_location"),
        AuditMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    collateral_id = Column(Integer, ForeignKey("col_collateral.id"), nullable=False, index=True)
    cert_type = Column(String(60), nullable=False)  # 不动产权证书, 不动产登记证明 (他项权证), 机动车登记证书 …
    number = Column(String(80), nullable=False, index=True)
    issuing_authority = Column(String(200))
    registration_date = Column(Date)
    mortgage_registration_number = Column(String(80), index=True)
    expiry_date = Column(Date, index=True)
    status = Column(String(12), nullable=False, default="registered", index=True)
    vault_location = Column(String(100))  # cabinet / shelf while in the vault
    holder = Column(String(100))  # who has it while lent or out
    due_back = Column(Date)
    return_queued = Column(Boolean, nullable=False, default=False, server_default=false())  # release: to go back
    return_queued_on = Column(Date)
    note = Column(String(500))

    collateral = relationship("Collateral", back_populates="certificates", lazy="selectin")
    movements = relationship("CertificateMovement", back_populates="certificate", order_by="CertificateMovement.id")

    def __repr__(self):
        return f"{self.cert_type} {self.number}"


class CertificateMovement(AuditMixin, Model):
    """One 入库 (in) / 借阅 (lend) / 归还 (back) / 出库 (out); lend and out wait for the approval (pending)."""

    __tablename__ = "col_certificate_move"
    __scope_parent__ = "certificate"
    id = Column(Integer, primary_key=True)
    certificate_id = Column(Integer, ForeignKey("col_certificate.id"), nullable=False, index=True)
    action = Column(String(8), nullable=False)
    status = Column(String(12), nullable=False, default="done", index=True)
    purpose = Column(String(20))  # out: release_return | disposal | other
    reason = Column(String(500))
    recipient = Column(String(100))  # who takes it (lend, out)
    due_back = Column(Date)  # lend
    location = Column(String(100))  # vault location (in, back)
    requested_by_id = Column(Integer, ForeignKey("ab_user.id"))
    requested_on = Column(Date)  # business date
    done_on = Column(Date)  # business date the certificate moved
    decided_at = Column(DateTime)

    certificate = relationship("CollateralCertificate", back_populates="movements", lazy="selectin")
    requested_by = relationship("User", foreign_keys=[requested_by_id], lazy="selectin")

    def __repr__(self):
        return f"{self.action} #{self.id}"


class CollateralValuation(AuditMixin, Model):
    """An appraisal (评估) or revaluation; the history stays, the latest by date sets Collateral.value."""

    __tablename__ = "col_valuation"
    __scope_parent__ = "collateral"
    id = Column(Integer, primary_key=True)
    collateral_id = Column(Integer, ForeignKey("col_collateral.id"), nullable=False, index=True)
    agency = Column(String(200), nullable=False)
    valuation_date = Column(Date, nullable=False)
    value = Column(Numeric(18, 2), nullable=False)
    previous_value = Column(Numeric(18, 2))
    method = Column(String(60))  # market / income / cost …
    report_number = Column(String(60))
    note = Column(String(500))

    collateral = relationship("Collateral", back_populates="valuations")


class CollateralMonitoring(AuditMixin, Model):
    """押品监管报告: the state of the property found on a visit; schedules the next one."""

    __tablename__ = "col_monitoring"
    __scope_parent__ = "collateral"
    id = Column(Integer, primary_key=True)
    collateral_id = Column(Integer, ForeignKey("col_collateral.id"), nullable=False, index=True)
    report_date = Column(Date, nullable=False)
    condition = Column(String(12), nullable=False)  # normal | attention | abnormal
    findings = Column(Text, nullable=False)
    estimated_value = Column(Numeric(18, 2))  # the monitor's estimate (a revaluation is a separate appraisal)
    next_date = Column(Date)
    user_id = Column(Integer, ForeignKey("ab_user.id"))

    collateral = relationship("Collateral", back_populates="monitorings")


# The link to the guarantee business is biz_counter_measure.collateral_id; the warnings and the coverage look the
# measures up by it (index made by migration 0022, declared here so the metadata matches the schema).
def _measure_collateral_index():
    from models.business import CounterMeasure

    return Index("ix_biz_counter_measure_collateral", CounterMeasure.collateral_id)


_measure_collateral_index()
