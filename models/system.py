"""System domain: company, organisation, dictionaries, settings, numbering, logs, day-end, exports."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Table, Text,
    UniqueConstraint,
)
from sqlalchemy.orm import backref, relationship

from models.mixins import AuditMixin


class CompanyInfo(AuditMixin, Model):
    """SYS-1: the company running the system (one row)."""

    __tablename__ = "sys_company"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    short_name = Column(String(50))
    credit_code = Column(String(18))
    legal_representative = Column(String(50))
    registered_capital = Column(Numeric(18, 2))
    established_on = Column(Date)
    license_no = Column(String(50))
    address = Column(String(200))
    phone = Column(String(30))
    website = Column(String(200))

    def __repr__(self):
        return self.name


class Department(AuditMixin, Model):
    """SYS-2: departments form a tree."""

    __tablename__ = "sys_department"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    parent_id = Column(Integer, ForeignKey("sys_department.id"), index=True)
    parent = relationship("Department", remote_side=[id], backref="children")
    sort_order = Column(Integer, default=0, nullable=False)
    phone = Column(String(30))
    active = Column(Boolean, default=True, nullable=False)

    def __repr__(self):
        return self.name

    def ancestors(self):
        node, seen = self.parent, []
        while node is not None and node not in seen:
            seen.append(node)
            node = node.parent
        return seen


employee_post = Table(
    "sys_employee_post",
    Model.metadata,
    Column("id", Integer, primary_key=True),
    Column("employee_id", Integer, ForeignKey("sys_employee.id", ondelete="CASCADE"), nullable=False),
    Column("post_id", Integer, ForeignKey("sys_approval_post.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("employee_id", "post_id"),
)


class ApprovalPost(AuditMixin, Model):
    """SYS-2: an approval post (审批岗位) that flow steps name."""

    __tablename__ = "sys_approval_post"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    name = Column(String(100), unique=True, nullable=False)
    description = Column(String(500))

    def __repr__(self):
        return self.name


class Employee(AuditMixin, Model):
    """SYS-2: an employee; a login user is linked to at most one employee."""

    __tablename__ = "sys_employee"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), unique=True, nullable=False)
    name = Column(String(50), nullable=False)
    gender = Column(String(10))
    department_id = Column(Integer, ForeignKey("sys_department.id"), nullable=False, index=True)
    department = relationship("Department", lazy="joined")
    title = Column(String(50))
    phone = Column(String(30))
    email = Column(String(120))
    user_id = Column(Integer, ForeignKey("ab_user.id"), unique=True)
    user = relationship("User", foreign_keys=[user_id], lazy="joined")
    posts = relationship("ApprovalPost", secondary=employee_post, lazy="selectin")
    hired_on = Column(Date)
    active = Column(Boolean, default=True, nullable=False)

    def __repr__(self):
        return self.name


class DictType(AuditMixin, Model):
    """SYS-6: a code table (行业, 地区, 证件类型, 贷款用途 …)."""

    __tablename__ = "sys_dict_type"
    id = Column(Integer, primary_key=True)
    code = Column(String(50), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    description = Column(String(500))
    builtin = Column(Boolean, default=False, nullable=False)

    def __repr__(self):
        return self.name


class DictItem(AuditMixin, Model):
    """SYS-6: one entry of a code table; entries may nest (province → city)."""

    __tablename__ = "sys_dict_item"
    __table_args__ = (UniqueConstraint("type_id", "code"), AuditMixin.__table_args__)
    id = Column(Integer, primary_key=True)
    type_id = Column(Integer, ForeignKey("sys_dict_type.id", ondelete="CASCADE"), nullable=False, index=True)
    # Deleting a dictionary deletes its entries (the built-in ones are protected by the views and the API).
    dict_type = relationship("DictType", lazy="joined",
                             backref=backref("items", cascade="all, delete-orphan"))  # each deletion is logged
    code = Column(String(50), nullable=False)
    name = Column(String(200), nullable=False)
    parent_id = Column(Integer, ForeignKey("sys_dict_item.id"), index=True)
    parent = relationship("DictItem", remote_side=[id])
    sort_order = Column(Integer, default=0, nullable=False)
    active = Column(Boolean, default=True, nullable=False)

    def __repr__(self):
        return self.name


class SystemSetting(AuditMixin, Model):
    """SYS-1/4/8: a named parameter; the catalogue of keys and their types is app/services/settings.py."""

    __tablename__ = "sys_setting"
    id = Column(Integer, primary_key=True)
    key = Column(String(80), unique=True, nullable=False)
    value = Column(String(500), nullable=False)

    def __repr__(self):
        return self.key


class NumberingRule(AuditMixin, Model):
    """SYS-7: how numbers of one kind look: prefix + date part + zero-padded sequence."""

    __tablename__ = "sys_numbering_rule"
    id = Column(Integer, primary_key=True)
    kind = Column(String(50), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    prefix = Column(String(20), default="", nullable=False)
    date_format = Column(String(10), default="yyyymm", nullable=False)  # none | yyyy | yyyymm | yyyymmdd
    seq_width = Column(Integer, default=4, nullable=False)

    def __repr__(self):
        return self.name


class NumberingCounter(Model):
    """The last number issued per kind and period; incremented atomically in the caller's transaction."""

    __tablename__ = "sys_numbering_counter"
    __table_args__ = (UniqueConstraint("kind", "period"),)
    id = Column(Integer, primary_key=True)
    kind = Column(String(50), nullable=False)
    period = Column(String(10), nullable=False)
    last_value = Column(Integer, nullable=False, default=0)


class OperationLog(Model):
    """SYS-5: every insert/update/delete of an audited table; append-only."""

    __tablename__ = "sys_operation_log"
    __table_args__ = (Index("ix_oplog_table_record", "table_name", "record_id"),)
    id = Column(Integer, primary_key=True)
    at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    user_id = Column(Integer, index=True)
    username = Column(String(100))
    action = Column(String(10), nullable=False)  # insert | update | delete
    table_name = Column(String(80), nullable=False)
    record_id = Column(String(50))
    changes = Column(Text)  # JSON {field: [old, new]}


class LoginLog(Model):
    """SYS-5: logins, logouts, failures and lockouts."""

    __tablename__ = "sys_login_log"
    __table_args__ = (Index("ix_loginlog_user_at", "username", "at"),)
    id = Column(Integer, primary_key=True)
    at = Column(DateTime, default=datetime.now, nullable=False, index=True)
    username = Column(String(100), nullable=False)
    user_id = Column(Integer)
    event = Column(String(20), nullable=False)  # login | logout | failed | locked | timeout
    ip = Column(String(64))
    user_agent = Column(String(300))
    channel = Column(String(10), default="web", nullable=False)  # web | api


class DayEndRun(Model):
    """SYS-8: one run of the day-end batch for a business date."""

    __tablename__ = "sys_dayend_run"
    id = Column(Integer, primary_key=True)
    business_date = Column(Date, nullable=False, index=True)
    started_at = Column(DateTime, default=datetime.now, nullable=False)
    finished_at = Column(DateTime)
    status = Column(String(10), nullable=False, default="running")  # running | success | failed
    triggered_by = Column(String(100))
    steps = relationship("DayEndStepLog", backref="run", order_by="DayEndStepLog.id", lazy="selectin")

    def __repr__(self):
        return f"{self.business_date}"


class DayEndStepLog(Model):
    """SYS-8: the result of one registered step within a day-end run."""

    __tablename__ = "sys_dayend_step"
    id = Column(Integer, primary_key=True)
    run_id = Column(Integer, ForeignKey("sys_dayend_run.id", ondelete="CASCADE"), nullable=False, index=True)
    step = Column(String(80), nullable=False)
    status = Column(String(10), nullable=False)  # success | failed
    rows = Column(Integer, default=0)
    message = Column(String(500))
    started_at = Column(DateTime, nullable=False)
    finished_at = Column(DateTime)


class ExportJob(Model):
    """SYS-14: a background Excel export and its progress."""

    __tablename__ = "sys_export_job"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    view_name = Column(String(100), nullable=False)
    title = Column(String(100))
    status = Column(String(10), nullable=False, default="pending")  # pending | running | done | failed
    total = Column(Integer, default=0, nullable=False)
    done = Column(Integer, default=0, nullable=False)
    filename = Column(String(200))
    created_at = Column(DateTime, default=datetime.now, nullable=False)
    finished_at = Column(DateTime)
    error = Column(String(300))


