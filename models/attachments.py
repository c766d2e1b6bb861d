"""Customer attachments (CUS-6): files on a customer or on one of its sub-records.

The file itself lives outside the web root under a random name (app/services/attachments.py);
this row holds what is known about it. `record_type` / `record_id` name the sub-record (a credit
bureau record, a shareholder …) when the file belongs to one; `customer_id` is always set, so the
customer's attachments tab and its completeness see every file of the customer.
"""
from flask_appbuilder import Model
from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin


class Attachment(AuditMixin, Model):
    __tablename__ = "cus_attachment"
    __scope_parent__ = "customer"  # visible exactly when its customer is (app/services/data_scope.py)
    __table_args__ = (
        Index("ix_attachment_customer_category", "customer_id", "category"),
        Index("ix_attachment_record", "record_type", "record_id"),
        AuditMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    # No cascade: a customer with files is not deleted behind the files' back (they would stay on disk).
    customer_id = Column(Integer, ForeignKey("cus_customer.id"), nullable=False)
    customer = relationship("Customer", lazy="select")
    record_type = Column(String(40))  # a key of app.services.attachments.SUBRECORD_TYPES, or NULL
    record_id = Column(Integer)
    category = Column(String(50), nullable=False)  # dictionary attachment_category
    description = Column(String(300))
    original_name = Column(String(255), nullable=False)  # data only: never part of a path
    stored_name = Column(String(64), nullable=False, unique=True)  # uuid4 hex
    content_type = Column(String(120), nullable=False)  # from the content, not from the browser
    extension = Column(String(10), nullable=False)  # canonical extension of the detected type
    size = Column(BigInteger, nullable=False)
    sha256 = Column(String(64), nullable=False, index=True)
    # the uploader is created_by_id (AuditMixin); the upload time is created_at
    uploader = relationship("User", foreign_keys="Attachment.created_by_id", lazy="selectin")

    def __repr__(self):
        return self.original_name
