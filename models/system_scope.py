"""Data scope per role (部门归属, issue 11): which business records the holders of a role see."""
from flask_appbuilder import Model
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from models.mixins import AuditMixin


class RoleDataScope(AuditMixin, Model):
    """One row per role: own | department | department_tree | all (see app/services/data_scope.py)."""

    __tablename__ = "sys_role_scope"
    id = Column(Integer, primary_key=True)
    role_id = Column(Integer, ForeignKey("ab_role.id", ondelete="CASCADE"), unique=True, nullable=False)
    role = relationship("Role")
    scope = Column(String(20), nullable=False, default="own")

    def __repr__(self):
        return f"{self.role_id}:{self.scope}"
