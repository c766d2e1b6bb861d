"""Columns every business table carries: who made and changed it, and who owns it (data scope)."""
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer
from sqlalchemy.orm import declared_attr


class AuditMixin:
    """Audit columns filled by the session hook in app/audit.py; never by forms."""

    __audited__ = True  # changes go to the operation log
    # SQLite would otherwise reuse the id of a deleted newest row, mixing two records in the log.
    __table_args__ = {"sqlite_autoincrement": True}

    created_at = Column(DateTime, default=datetime.now, nullable=False)
    updated_at = Column(DateTime, default=datetime.now, onupdate=datetime.now, nullable=False)

    @declared_attr
    def created_by_id(cls):
        return Column(Integer, ForeignKey("ab_user.id"), nullable=True)

    @declared_attr
    def updated_by_id(cls):
        return Column(Integer, ForeignKey("ab_user.id"), nullable=True)


class OwnedMixin(AuditMixin):
    """A business record owned by a user and a department (the data scope of issue 11 reads these)."""

    @declared_attr
    def owner_id(cls):
        return Column(Integer, ForeignKey("ab_user.id"), nullable=True, index=True)

    @declared_attr
    def department_id(cls):
        return Column(Integer, ForeignKey("sys_department.id"), nullable=True, index=True)
