"""Word templates of the business documents (BIZ-5/6/7/11/12): 意向函, 担保确认函, 公司决议, 担保合同,
反担保合同, 放款通知单.

Every upload is a new version of its document type; at most one version per type is active (a partial
unique index says so to the database too). Without an active version the shipped default
(app/document_templates/<type>.docx) is used. The file itself is kept in the database: templates are
small (the upload limit is a few MB), the upload, the version number and the switch are then one
transaction, and every web worker sees the same bytes without a shared disk. The bytes sit in a table of
their own that is not in the operation log (which records the version row, its name, size and SHA-256).
"""
from flask_appbuilder import Model
from sqlalchemy import (BigInteger, Boolean, Column, ForeignKey, Index, Integer, JSON, LargeBinary, String,
                        UniqueConstraint, text)
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin


class DocumentTemplate(AuditMixin, Model):
    __tablename__ = "biz_document_template"
    __table_args__ = (
        UniqueConstraint("doc_type", "version", name="uq_document_template_version"),
        # one active version per document type
        Index("uq_document_template_active", "doc_type", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
        AuditMixin.__table_args__,
    )
    id = Column(Integer, primary_key=True)
    doc_type = Column(String(40), nullable=False, index=True)  # a key of app.services.documents.DOC_TYPES
    version = Column(Integer, nullable=False)  # 1, 2, … per doc_type
    active = Column(Boolean, nullable=False, default=False)
    original_name = Column(String(255), nullable=False)  # data only
    note = Column(String(300))
    size = Column(BigInteger, nullable=False)
    sha256 = Column(String(64), nullable=False)
    variables = Column(JSON)  # the context variables the template uses (shown on the page)
    uploader = relationship("User", foreign_keys="DocumentTemplate.created_by_id", lazy="selectin")
    # the .docx, loaded only when a document is filled or downloaded
    file = relationship("DocumentTemplateFile", uselist=False, lazy="select", cascade="all, delete-orphan")

    @property
    def content(self) -> bytes:
        return self.file.content

    def __repr__(self):
        return f"{self.doc_type} v{self.version}"


class DocumentTemplateFile(Model):
    """The bytes of one template version (one to one with DocumentTemplate; never changed after the upload)."""

    __tablename__ = "biz_document_template_file"
    template_id = Column(Integer, ForeignKey("biz_document_template.id", ondelete="CASCADE"), primary_key=True)
    content = Column(LargeBinary, nullable=False)
