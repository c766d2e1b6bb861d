"""Permission names and the roles, as code (SYS-3).

Every screen and its REST API share one `class_permission_name` (a resource below) and the same
verbs, so a grant means the same thing on both. `flask sync-roles` (also run by run.py at every
start) makes the database match ROLE_GRANTS exactly; tests/unit/test_permission_matrix.py holds
the resulting matrix so a change to it is deliberate.
"""
from flask_babel import lazy_gettext as _l

# Verbs (FAB permission "can_<verb>")
READ, ADD, EDIT, DELETE, EXPORT, RUN = "read", "add", "edit", "delete", "export", "run"
ALL_VERBS = (READ, ADD, EDIT, DELETE, EXPORT)


def can(verb: str) -> str:
    return "can_" + verb


# Resources (FAB view-menu names)
COMPANY = "CompanyInfo"
DEPARTMENT = "Department"
EMPLOYEE = "Employee"
APPROVAL_POST = "ApprovalPost"
DICTIONARY = "Dictionary"
SETTING = "SystemSetting"
NUMBERING = "NumberingRule"
OPERATION_LOG = "OperationLog"
LOGIN_LOG = "LoginLog"
DAYEND = "DayEnd"
EXPORT_JOB = "ExportJob"
CUSTOMER = "Customer"

RESOURCE_NAMES = {
    COMPANY: _l("Company information"),
    DEPARTMENT: _l("Departments"),
    EMPLOYEE: _l("Employees"),
    APPROVAL_POST: _l("Approval posts"),
    DICTIONARY: _l("Data dictionaries"),
    SETTING: _l("System settings"),
    NUMBERING: _l("Numbering rules"),
    OPERATION_LOG: _l("Operation log"),
    LOGIN_LOG: _l("Login log"),
    DAYEND: _l("Day-end batch"),
    EXPORT_JOB: _l("My exports"),
    CUSTOMER: _l("Customers"),
}

# Role names (Chinese is what administrators read; they are data, not UI strings)
ADMIN = "系统管理员"
ACCOUNT_MANAGER = "客户经理"
RISK_OFFICER = "风控专员"
COMMITTEE_MEMBER = "审保会委员"
GENERAL_MANAGER = "总经理"
ACCOUNTANT = "财务会计"
FINANCE_REVIEWER = "财务复核"
CASHIER = "出纳"
AUDITOR = "审计(只读)"

READ_ONLY = (READ,)
READ_EXPORT = (READ, EXPORT)

# Self-service every staff member has: own exports, own password and profile.
_SELF_SERVICE = {EXPORT_JOB: READ_ONLY}
_REFERENCE_READ = {DEPARTMENT: READ_ONLY, EMPLOYEE: READ_ONLY, DICTIONARY: READ_ONLY, COMPANY: READ_ONLY,
                   APPROVAL_POST: READ_ONLY}

# role -> {resource: verbs}. The administrator holds every permission (including FAB's security screens).
ROLE_GRANTS: dict[str, dict[str, tuple]] = {
    ADMIN: {},  # everything: see app/services/roles.py
    ACCOUNT_MANAGER: {**_SELF_SERVICE, **_REFERENCE_READ, CUSTOMER: (READ, ADD, EDIT, EXPORT)},
    RISK_OFFICER: {**_SELF_SERVICE, **_REFERENCE_READ, CUSTOMER: READ_EXPORT},
    COMMITTEE_MEMBER: {**_SELF_SERVICE, **_REFERENCE_READ, CUSTOMER: READ_ONLY},
    GENERAL_MANAGER: {**_SELF_SERVICE, **_REFERENCE_READ, CUSTOMER: READ_EXPORT, DAYEND: READ_ONLY},
    ACCOUNTANT: {**_SELF_SERVICE, **_REFERENCE_READ, CUSTOMER: READ_ONLY, DAYEND: READ_ONLY},
    FINANCE_REVIEWER: {**_SELF_SERVICE, **_REFERENCE_READ, CUSTOMER: READ_ONLY, DAYEND: READ_ONLY},
    CASHIER: {**_SELF_SERVICE, **_REFERENCE_READ, CUSTOMER: READ_ONLY},
    AUDITOR: {
        **_SELF_SERVICE,
        **{res: READ_EXPORT for res in (DEPARTMENT, EMPLOYEE, DICTIONARY, COMPANY, APPROVAL_POST)},
        CUSTOMER: READ_EXPORT, OPERATION_LOG: READ_EXPORT, LOGIN_LOG: READ_EXPORT, DAYEND: READ_EXPORT,
        SETTING: READ_EXPORT, NUMBERING: READ_EXPORT,
    },
}

ROLE_DESCRIPTIONS = {
    ADMIN: _l("Administers users, roles, organisation and system parameters"),
    ACCOUNT_MANAGER: _l("Develops customers and handles guarantee applications"),
    RISK_OFFICER: _l("Reviews risk of applications and watches the portfolio"),
    COMMITTEE_MEMBER: _l("Votes in the guarantee review committee"),
    GENERAL_MANAGER: _l("Approves guarantees and watches the whole business"),
    ACCOUNTANT: _l("Keeps the books: vouchers, month-end close, statements"),
    FINANCE_REVIEWER: _l("Reviews and posts vouchers"),
    CASHIER: _l("Receives and pays money; signs cash and bank vouchers"),
    AUDITOR: _l("Reads everything, changes nothing"),
}

# FAB's own self-service permissions every staff role needs (profile, change own password, menus).
SELF_SERVICE_FAB = [
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_get", "MenuApi"),
]
