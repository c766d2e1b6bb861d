"""Business-data corrections (SYS-10): each correction of recorded business data, with who, why and what.

The changed rows themselves are also in the operation log (app/audit.py); this table is the readable register
of the corrections: undoing a wrongly recorded stage step, changing the account manager, cleaning up drafts.
Rules: app/services/corrections.py.
"""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String

from models.mixins import AuditMixin

ACTIONS = ("stage_back", "manager_change", "draft_cleanup")


class DataCorrection(AuditMixin, Model):
    __tablename__ = "sys_data_correction"

    id = Column(Integer, primary_key=True)
    action = Column(String(20), nullable=False, index=True)
    target_type = Column(String(30), nullable=False)  # guarantee | customer
    target_id = Column(Integer, index=True)
    target_code = Column(String(60))
    before = Column(String(200))
    after = Column(String(200))
    reason = Column(String(500), nullable=False)
    details = Column(JSON(none_as_null=True))
    user_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    at = Column(DateTime, default=datetime.now, nullable=False, index=True)
