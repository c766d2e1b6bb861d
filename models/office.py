"""Office (WB-3, WB-6, OA-2, SYS-11): internal messages and mail, address books, file cabinets, personal
preferences and the help pages (oa_*).

A message is written once (oa_message) and delivered to each recipient (oa_message_recipient): departments and
roles are expanded to users when it is sent, so a later move of a person changes nothing that was delivered.
Files of messages and cabinets live where customer attachments live (app/services/attachments.py: random name
outside the web root); these rows hold what is known about them.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint,
)
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin

MESSAGE_KINDS = ("message", "mail", "notice")  # notice: sent by the system (no sender)
FOLDER_SCOPES = ("personal", "public")
HELP_KINDS = ("faq", "contact")


class OfficeMessage(Model):
    __tablename__ = "oa_message"
    id = Column(Integer, primary_key=True)
    kind = Column(String(10), nullable=False, default="message")
    sender_id = Column(Integer, ForeignKey("ab_user.id"), index=True)  # NULL: a system notice
    sender = relationship("User", foreign_keys=[sender_id], lazy="selectin")
    subject = Column(String(200), nullable=False)
    body = Column(Text)
    link = Column(String(500))  # a page of the system the message is about (relative URL)
    addressed_to = Column(String(1000))  # who it was addressed to, as written (users, departments, roles)
    created_at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    sender_deleted = Column(Boolean, default=False, nullable=False)
    recipients = relationship("OfficeMessageRecipient", back_populates="message", lazy="select",
                              cascade="all, delete-orphan")
    files = relationship("OfficeMessageFile", back_populates="message", lazy="selectin",
                         cascade="all, delete-orphan", order_by="OfficeMessageFile.id")


class OfficeMessageRecipient(Model):
    __tablename__ = "oa_message_recipient"
    __table_args__ = (
        UniqueConstraint("message_id", "user_id", name="uq_oa_message_recipient"),
        Index("ix_oa_recipient_user_read", "user_id", "deleted", "read_at"),
    )
    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("oa_message.id", ondelete="CASCADE"), nullable=False, index=True)
    message = relationship("OfficeMessage", back_populates="recipients", lazy="joined")
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    user = relationship("User", foreign_keys=[user_id], lazy="selectin")
    read_at = Column(DateTime)
    deleted = Column(Boolean, default=False, nullable=False)
    emailed_at = Column(DateTime)  # copy sent out through SMTP


class OfficeMessageFile(Model):
    __tablename__ = "oa_message_file"
    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("oa_message.id", ondelete="CASCADE"), nullable=False, index=True)
    message = relationship("OfficeMessage", back_populates="files")
    original_name = Column(String(255), nullable=False)  # data only: never part of a path
    stored_name = Column(String(64), nullable=False, unique=True)
    content_type = Column(String(120), nullable=False)
    extension = Column(String(10), nullable=False)
    size = Column(BigInteger, nullable=False)
    sha256 = Column(String(64), nullable=False)


class ContactGroup(AuditMixin, Model):
    """A group of the personal address book; each user keeps his own."""

    __tablename__ = "oa_contact_group"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_oa_contact_group"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    owner_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    name = Column(String(50), nullable=False)
    sort_order = Column(Integer, default=0, nullable=False)

    def __repr__(self):
        return self.name


class Contact(AuditMixin, Model):
    """An entry of the personal address book."""

    __tablename__ = "oa_contact"
    __table_args__ = (Index("ix_oa_contact_owner_name", "owner_id", "name"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    owner_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    group_id = Column(Integer, ForeignKey("oa_contact_group.id", ondelete="SET NULL"), index=True)
    group = relationship("ContactGroup", lazy="selectin")
    name = Column(String(50), nullable=False)
    company = Column(String(200))
    title = Column(String(50))
    mobile = Column(String(30))
    phone = Column(String(30))
    email = Column(String(120))
    address = Column(String(300))
    note = Column(String(500))

    def __repr__(self):
        return self.name


folder_department = Table(
    "oa_folder_department", Model.metadata,
    Column("id", Integer, primary_key=True),
    Column("folder_id", Integer, ForeignKey("oa_folder.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("department_id", Integer, ForeignKey("sys_department.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("folder_id", "department_id", name="uq_oa_folder_department"),
)
folder_role = Table(
    "oa_folder_role", Model.metadata,
    Column("id", Integer, primary_key=True),
    Column("folder_id", Integer, ForeignKey("oa_folder.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("role_id", Integer, ForeignKey("ab_role.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("folder_id", "role_id", name="uq_oa_folder_role"),
)


class CabinetFolder(AuditMixin, Model):
    """A folder of the file cabinet. Personal: its owner only. Public: everyone, or, when departments or roles
    are named, the members of those departments (sub-departments included) and the holders of those roles."""

    __tablename__ = "oa_folder"
    __table_args__ = (Index("ix_oa_folder_scope_owner", "scope", "owner_id"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    scope = Column(String(10), nullable=False, default="public")
    owner_id = Column(Integer, ForeignKey("ab_user.id"))  # personal folders
    description = Column(String(300))
    departments = relationship("Department", secondary=folder_department, lazy="selectin")
    roles = relationship("Role", secondary=folder_role, lazy="selectin")

    def __repr__(self):
        return self.name


class CabinetFile(AuditMixin, Model):
    __tablename__ = "oa_folder_file"
    __table_args__ = (AuditMixin.__table_args__,)
    id = Column(Integer, primary_key=True)
    folder_id = Column(Integer, ForeignKey("oa_folder.id", ondelete="CASCADE"), nullable=False, index=True)
    folder = relationship("CabinetFolder", lazy="select")
    description = Column(String(300))
    original_name = Column(String(255), nullable=False)
    stored_name = Column(String(64), nullable=False, unique=True)
    content_type = Column(String(120), nullable=False)
    extension = Column(String(10), nullable=False)
    size = Column(BigInteger, nullable=False)
    sha256 = Column(String(64), nullable=False)
    uploader = relationship("User", foreign_keys="CabinetFile.created_by_id", lazy="selectin")


class UserPreference(Model):
    """Personal settings (WB-6) of one user."""

    __tablename__ = "oa_user_pref"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, unique=True)
    rows_per_page = Column(Integer)


class HelpEntry(AuditMixin, Model):
    """Help and support (SYS-11): a question with its answer, or a contact (whom to call about what)."""

    __tablename__ = "oa_help_entry"
    __table_args__ = (Index("ix_oa_help_kind_order", "kind", "sort_order"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    kind = Column(String(10), nullable=False, default="faq")
    title = Column(String(200), nullable=False)  # the question, or the contact's name / duty
    body = Column(Text)  # the answer, or what to contact them about
    phone = Column(String(30))
    email = Column(String(120))
    sort_order = Column(Integer, default=0, nullable=False)
    active = Column(Boolean, default=True, nullable=False)

    def __repr__(self):
        return self.title
