"""Admin-configurable customer information (CUS-7) and completeness rules (CUS-8).

Extra field values live in the JSON column `cus_customer.extra` ({code: text}); the definitions
below say which codes exist, for which customer kind, of which type and whether they are required.
"""
from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, Integer, String, UniqueConstraint

from models.customers import Customer
from models.mixins import AuditMixin

FIELD_KINDS = ("both", "individual", "corporate")
FIELD_TYPES = ("text", "number", "date", "choice")
EXTRA_PREFIX = "extra__"  # form fields, filters, show and export columns of an extra field: extra__<code>


class CustomerFieldDef(AuditMixin, Model):
    __tablename__ = "cus_field_def"
    id = Column(Integer, primary_key=True)
    code = Column(String(40), unique=True, nullable=False)  # key in Customer.extra
    label = Column(String(60), nullable=False)
    kind = Column(String(12), nullable=False, default="both")  # both | individual | corporate
    field_type = Column(String(10), nullable=False, default="text")  # text | number | date | choice
    dict_type = Column(String(50))  # dictionary code of a choice field
    required = Column(Boolean, nullable=False, default=False)
    sort_order = Column(Integer, nullable=False, default=0)
    enabled = Column(Boolean, nullable=False, default=True)

    def __repr__(self):
        return self.label

    def applies_to(self, kind) -> bool:
        return self.kind == "both" or kind is None or self.kind == kind


class CompletenessRule(AuditMixin, Model):
    """One required item of a customer kind's file: a document (attachment category) or a field
    (a standard customer column or an extra field code)."""

    __tablename__ = "cus_completeness_rule"
    __table_args__ = (UniqueConstraint("kind", "item_type", "item_code", name="uq_completeness_item"),
                      AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    kind = Column(String(12), nullable=False)  # both | individual | corporate
    item_type = Column(String(10), nullable=False)  # document | field
    item_code = Column(String(50), nullable=False)
    weight = Column(Integer, nullable=False, default=1)
    sort_order = Column(Integer, nullable=False, default=0)
    enabled = Column(Boolean, nullable=False, default=True)

    def __repr__(self):
        return f"{self.item_type}:{self.item_code}"


def _extra_attribute(self, name):
    """`customer.extra__<code>`: the extra field's stored value, so FAB's show widget, list and Excel
    export read extra fields like columns."""
    if name.startswith(EXTRA_PREFIX):
        return (self.extra or {}).get(name[len(EXTRA_PREFIX):])
    raise AttributeError(name)


Customer.__getattr__ = _extra_attribute
