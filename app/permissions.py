"""Permission names and the roles, as code (SYS-3).

Every screen and its REST API share one `class_permission_name` (a resource below) and the same
verbs, so a grant means the same thing on both. ROLE_GRANTS is the shipped definition: every start
creates missing roles and grants newly registered permissions to the roles listed here, but keeps what
an administrator changed on the role page (issue 11); `flask sync-roles --reset` (or "reset" on the
role page) puts the shipped roles back to it. tests/unit/test_permission_matrix.py holds the shipped
matrix so a change to it is deliberate. Business names of verbs and actions: app/permission_names.py.
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
CUSTOMER_IMPORT = "CustomerImport"  # bulk import from Excel; also needs can_add on CUSTOMER
ROLE_ADMIN = "RoleAdmin"  # the permission matrix, role management and data scopes (views/roles.py)

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
    CUSTOMER_IMPORT: _l("Customer import"),
    ROLE_ADMIN: _l("Roles and permissions"),
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
DEPARTMENT_HEAD = "部门负责人"

READ_ONLY = (READ,)
READ_EXPORT = (READ, EXPORT)

# Self-service every staff member has: own exports, own password and profile.
_SELF_SERVICE = {EXPORT_JOB: READ_ONLY}
_REFERENCE_READ = {DEPARTMENT: READ_ONLY, EMPLOYEE: READ_ONLY, DICTIONARY: READ_ONLY, COMPANY: READ_ONLY,
                   APPROVAL_POST: READ_ONLY}

# role -> {resource: verbs}. The administrator holds every permission (including FAB's security screens).
ROLE_GRANTS: dict[str, dict[str, tuple]] = {
    ADMIN: {},  # everything: see app/services/roles.py
    ACCOUNT_MANAGER: {**_SELF_SERVICE, **_REFERENCE_READ, CUSTOMER: (READ, ADD, EDIT, EXPORT),
                      CUSTOMER_IMPORT: READ_ONLY},
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

# --- issue 3 (customer file): watch lists and guarantee partners have their own resources; every other
# customer sub-record (family, shareholders, credit bureau records …) shares CUSTOMER with its customer.
CUSTOMER_WATCH = "CustomerWatch"  # VIP / potential / blacklist: only risk staff put customers on a list
GUARANTEE_PARTNER = "GuaranteePartner"  # other guarantee companies and joint-guarantee groups
RESOURCE_NAMES.update({CUSTOMER_WATCH: _l("Watch lists"), GUARANTEE_PARTNER: _l("Guarantee partners")})
for _role, _grants in {
    ACCOUNT_MANAGER: {CUSTOMER_WATCH: READ_EXPORT, GUARANTEE_PARTNER: (READ, ADD, EDIT, EXPORT)},
    RISK_OFFICER: {CUSTOMER_WATCH: (READ, ADD, EDIT, EXPORT), GUARANTEE_PARTNER: READ_EXPORT},
    COMMITTEE_MEMBER: {CUSTOMER_WATCH: READ_ONLY, GUARANTEE_PARTNER: READ_ONLY},
    GENERAL_MANAGER: {CUSTOMER_WATCH: (READ, ADD, EDIT, EXPORT), GUARANTEE_PARTNER: READ_EXPORT},
    ACCOUNTANT: {GUARANTEE_PARTNER: READ_ONLY},
    FINANCE_REVIEWER: {GUARANTEE_PARTNER: READ_ONLY},
    CASHIER: {CUSTOMER_WATCH: READ_ONLY},
    AUDITOR: {CUSTOMER_WATCH: READ_EXPORT, GUARANTEE_PARTNER: READ_EXPORT},
}.items():
    ROLE_GRANTS[_role].update(_grants)

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
    DEPARTMENT_HEAD: _l("Heads a department: reads and edits the records of the department and its sub-departments"),
}

# FAB's own self-service permissions every staff role needs (profile, change own password, menus).
SELF_SERVICE_FAB = [
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_get", "MenuApi"),
]


# --- issue 11: the department head and the data scope (部门归属) of every shipped role ----------------
# The department head works like the account managers of the department (same screens and verbs; kept
# last so every grant other modules give the account manager above reaches the department head too) and
# sees the records of the department and its sub-departments. The auditor reads the role matrix.
ROLE_GRANTS[DEPARTMENT_HEAD] = {**ROLE_GRANTS[ACCOUNT_MANAGER]}
ROLE_GRANTS[AUDITOR] = {**ROLE_GRANTS[AUDITOR], ROLE_ADMIN: READ_EXPORT}

# role -> data scope: own | department | department_tree | all (app/services/data_scope.py).
# A role without an entry (made by an administrator) starts with "own".
ROLE_SCOPES = {
    ADMIN: "all", ACCOUNT_MANAGER: "own", DEPARTMENT_HEAD: "department_tree", RISK_OFFICER: "all",
    COMMITTEE_MEMBER: "all", GENERAL_MANAGER: "all", ACCOUNTANT: "all", FINANCE_REVIEWER: "all", CASHIER: "all",
    AUDITOR: "all",
}


# --- issue 5 (GL-4, GL-5): books and statements, month-end close and reopen, report-line mapping ----------
LEDGER_BOOKS = "LedgerBooks"  # 账簿查询 and 报表查询: read, export
PERIOD_CLOSE = "PeriodClose"  # 期末处理: read (the page), run (the close)
PERIOD_REOPEN = "PeriodReopen"  # 反结账: run
REPORT_LINE = "ReportLine"  # 报表项目设置: the statement line → account mapping
RESOURCE_NAMES.update({
    LEDGER_BOOKS: _l("Books and statements"),
    PERIOD_CLOSE: _l("Month-end processing"),
    PERIOD_REOPEN: _l("Reopen a closed period"),
    REPORT_LINE: _l("Statement lines"),
})
# The accountant keeps the books and closes the month; a reopen (反结账) needs the finance reviewer or the
# general manager, never the person alone who closed it. Managers and auditors read and export the books.
ROLE_GRANTS[ACCOUNTANT].update({LEDGER_BOOKS: READ_EXPORT, PERIOD_CLOSE: (READ, RUN),
                                REPORT_LINE: (READ, ADD, EDIT, DELETE)})
ROLE_GRANTS[FINANCE_REVIEWER].update({LEDGER_BOOKS: READ_EXPORT, PERIOD_CLOSE: READ_ONLY, PERIOD_REOPEN: (RUN,),
                                      REPORT_LINE: READ_ONLY})
ROLE_GRANTS[GENERAL_MANAGER].update({LEDGER_BOOKS: READ_EXPORT, PERIOD_CLOSE: READ_ONLY, PERIOD_REOPEN: (RUN,)})
ROLE_GRANTS[AUDITOR].update({LEDGER_BOOKS: READ_EXPORT, PERIOD_CLOSE: READ_ONLY, REPORT_LINE: READ_EXPORT})


# --- issue 3 (CUS-4, CUS-8): customer relations, transfer (移交) and merge (合并) ---------------------------
CUSTOMER_RELATION = "CustomerRelation"  # 客户关联关系 (tab of the customer pages, relation graph)
CUSTOMER_TRANSFER = "CustomerTransfer"  # 客户移交: read/export the history, run a transfer
CUSTOMER_MERGE = "CustomerMerge"  # 客户合并: read/export the history, run a merge
RESOURCE_NAMES.update({
    CUSTOMER_RELATION: _l("Customer relations"),
    CUSTOMER_TRANSFER: _l("Customer transfers"),
    CUSTOMER_MERGE: _l("Customer merges"),
})
# Account managers keep their customers' relations; transfer and merge are business operations for the
# department head (within the department tree) and the administrator, not for the account manager himself.
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD):
    ROLE_GRANTS[_role][CUSTOMER_RELATION] = ALL_VERBS
ROLE_GRANTS[DEPARTMENT_HEAD].update({CUSTOMER_TRANSFER: (READ, EXPORT, RUN), CUSTOMER_MERGE: (READ, EXPORT, RUN)})
for _role in (RISK_OFFICER, GENERAL_MANAGER, AUDITOR):
    ROLE_GRANTS[_role].update({CUSTOMER_RELATION: READ_EXPORT, CUSTOMER_TRANSFER: READ_EXPORT,
                               CUSTOMER_MERGE: READ_EXPORT})
for _role in (COMMITTEE_MEMBER,):
    ROLE_GRANTS[_role][CUSTOMER_RELATION] = READ_ONLY


# --- issue 3 (CUS-6, CUS-7, CUS-8): attachments, configurable customer fields, completeness rules ----------
# Attachments use the customer resource itself: reading a customer lets one see and download its files,
# editing it lets one upload (views/attachments.py). The field definitions and completeness rules are set
# by the administrator (who holds everything); the auditor reads them.
CUSTOMER_FIELD = "CustomerField"  # 客户信息要素设置
COMPLETENESS_RULE = "CompletenessRule"  # 资料完整度规则
RESOURCE_NAMES.update({
    CUSTOMER_FIELD: _l("Customer fields"),
    COMPLETENESS_RULE: _l("Completeness rules"),
})
ROLE_GRANTS[AUDITOR].update({CUSTOMER_FIELD: READ_EXPORT, COMPLETENESS_RULE: READ_EXPORT})


# --- issue 5 (GL-1, GL-2, GL-3, GL-7): chart of accounts, vouchers, business events, hash chain ----------
ACCOUNT = "LedgerAccount"  # 会计科目
VOUCHER = "Voucher"  # 凭证: read, make (add/edit/delete drafts, reversal), export
VOUCHER_REVIEW = "VoucherReview"  # 审核 / 取消审核: run
VOUCHER_POST = "VoucherPost"  # 记账: run
CASHIER_SIGN = "CashierSign"  # 出纳签字: run
BUSINESS_EVENT = "BusinessEvent"  # 复核管理: read, run (review into a voucher or reject), export
VOUCHER_TEMPLATE = "VoucherTemplate"  # 凭证模板
LEDGER_VERIFY = "LedgerVerify"  # 凭证防篡改校验: read
RESOURCE_NAMES.update({
    ACCOUNT: _l("Chart of accounts"), VOUCHER: _l("Vouchers"), VOUCHER_REVIEW: _l("Voucher review"),
    VOUCHER_POST: _l("Voucher posting"), CASHIER_SIGN: _l("Cashier signature"),
    BUSINESS_EVENT: _l("Business event review"), VOUCHER_TEMPLATE: _l("Voucher templates"),
    LEDGER_VERIFY: _l("Voucher chain check"),
})
# The accountant makes vouchers, reviews business events and keeps the chart and templates; the finance
# reviewer reviews and posts; the cashier signs; the general manager reads; the auditor reads and exports.
ROLE_GRANTS[ACCOUNTANT].update({
    ACCOUNT: (READ, ADD, EDIT, DELETE, EXPORT), VOUCHER: (READ, ADD, EDIT, DELETE, EXPORT),
    BUSINESS_EVENT: (READ, RUN, EXPORT), VOUCHER_TEMPLATE: (READ, ADD, EDIT, DELETE, EXPORT), LEDGER_VERIFY: READ_ONLY})
ROLE_GRANTS[FINANCE_REVIEWER].update({
    ACCOUNT: READ_EXPORT, VOUCHER: READ_EXPORT, VOUCHER_REVIEW: (RUN,), VOUCHER_POST: (RUN,),
    BUSINESS_EVENT: READ_EXPORT, VOUCHER_TEMPLATE: READ_ONLY, LEDGER_VERIFY: READ_ONLY})
ROLE_GRANTS[CASHIER].update({ACCOUNT: READ_ONLY, VOUCHER: READ_ONLY, CASHIER_SIGN: (RUN,), BUSINESS_EVENT: READ_ONLY})
ROLE_GRANTS[GENERAL_MANAGER].update({ACCOUNT: READ_ONLY, VOUCHER: READ_EXPORT, BUSINESS_EVENT: READ_ONLY,
                                     LEDGER_VERIFY: READ_ONLY})
ROLE_GRANTS[AUDITOR].update({ACCOUNT: READ_EXPORT, VOUCHER: READ_EXPORT, BUSINESS_EVENT: READ_EXPORT,
                             VOUCHER_TEMPLATE: READ_EXPORT, LEDGER_VERIFY: READ_ONLY})


# --- issue 4 (BIZ-13): backfill (历史补录) of guarantees already in force -----------------------------------
# An upload puts liabilities in force without any approval, so it is kept from the account managers whose
# business it is (four eyes): the risk officer, who keeps the portfolio figures, and the administrator.
GUARANTEE_BACKFILL = "GuaranteeBackfill"  # read: the page, template, own error file; run: upload
RESOURCE_NAMES[GUARANTEE_BACKFILL] = _l("Guarantee backfill")
ROLE_GRANTS[RISK_OFFICER][GUARANTEE_BACKFILL] = (READ, RUN)


# --- issue 4 (BIZ-3..12, BIZ-14): the guarantee business (views/guarantees.py) -----------------------------
# GUARANTEE: the application and its business query; add/edit are the account manager's stage work (report,
# letters, fee registration, contracts, loan notice) on his own business (data scope by account manager).
# GUARANTEE_RISK: the risk officer's stage work (risk report, submission to the committee, counter-contract review).
# GUARANTEE_FINANCE: fee collection and the bank's loan confirmation (cashier, accountant).
# The approval stages themselves are decided in the approval engine by the people its flows name.
GUARANTEE = "Guarantee"
GUARANTEE_RISK = "GuaranteeRisk"
GUARANTEE_FINANCE = "GuaranteeFinance"
RESOURCE_NAMES.update({GUARANTEE: _l("Guarantee business"), GUARANTEE_RISK: _l("Guarantee risk work"),
                       GUARANTEE_FINANCE: _l("Guarantee fees and loans")})
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD):
    ROLE_GRANTS[_role][GUARANTEE] = (READ, ADD, EDIT, EXPORT)
ROLE_GRANTS[RISK_OFFICER].update({GUARANTEE: READ_EXPORT, GUARANTEE_RISK: (RUN,)})
ROLE_GRANTS[COMMITTEE_MEMBER][GUARANTEE] = READ_ONLY
ROLE_GRANTS[GENERAL_MANAGER][GUARANTEE] = READ_EXPORT
for _role in (CASHIER, ACCOUNTANT):
    ROLE_GRANTS[_role].update({GUARANTEE: READ_ONLY, GUARANTEE_FINANCE: (RUN,)})
ROLE_GRANTS[FINANCE_REVIEWER][GUARANTEE] = READ_ONLY
ROLE_GRANTS[AUDITOR][GUARANTEE] = READ_EXPORT


# --- issue 4 (BIZ-1, BIZ-2): guarantee products and cooperating banks (views/products.py) -------------------
# Reference data of the business: the administrator keeps them; the business roles read them (the account
# manager picks them on an application, risk and management watch the bank lines).
PRODUCT = "GuaranteeProduct"
BANK = "CooperatingBank"
RESOURCE_NAMES.update({PRODUCT: _l("Guarantee products"), BANK: _l("Cooperating banks")})
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD, COMMITTEE_MEMBER, CASHIER, ACCOUNTANT, FINANCE_REVIEWER):
    ROLE_GRANTS[_role].update({PRODUCT: READ_ONLY, BANK: READ_ONLY})
for _role in (RISK_OFFICER, GENERAL_MANAGER, AUDITOR):
    ROLE_GRANTS[_role].update({PRODUCT: READ_EXPORT, BANK: READ_EXPORT})


# --- issue 4 (BIZ-5/6/7/11/12): Word templates of the letters, notices and contracts (views/documents.py) --
# The administrator (who holds everything) uploads and switches the templates; no other role needs the
# screen: the business roles fill the documents from the guarantee's page with the guarantee's permissions.
DOCUMENT_TEMPLATE = "DocumentTemplate"  # read: pages, downloads, sample previews; add: upload; edit: switch
RESOURCE_NAMES[DOCUMENT_TEMPLATE] = _l("Document templates")


# --- issue 4 (BIZ-8, WB-5, WB-6): the approval engine (views/approval.py) -----------------------------------
# Flows, steps and rules are the administrator's (who holds everything; the auditor reads them). Every staff
# role works its own to-do list (read) and acts on the items assigned to it (run: the engine checks that the
# user is an assignee of the current step), and hands its approvals over for a time (own delegations).
APPROVAL_FLOW = "ApprovalFlow"  # flows, steps, matching rules, the designer
APPROVAL_TASK = "ApprovalTask"  # 我的事项 (read) and the approve/reject/return/withdraw/vote buttons (run)
DELEGATION = "ApprovalDelegation"  # 工作托管: own delegations (the administrator sees everyone's)
RESOURCE_NAMES.update({APPROVAL_FLOW: _l("Approval flows"), APPROVAL_TASK: _l("My approvals"),
                       DELEGATION: _l("Work delegation")})
for _role in [r for r in ROLE_GRANTS if r != ADMIN]:
    if _role != AUDITOR:
        ROLE_GRANTS[_role].update({APPROVAL_TASK: (READ, RUN), DELEGATION: (READ, ADD, EDIT, DELETE)})
ROLE_GRANTS[AUDITOR].update({APPROVAL_FLOW: READ_EXPORT, APPROVAL_TASK: READ_ONLY, DELEGATION: READ_ONLY})


# --- issue 6 (RAT-3): credit limits (授信额度, views/credit_limits.py) ----------------------------------------
# The account manager proposes limits for the customers in his data scope (add) and sends them to the approval;
# the approval itself is decided in the approval engine by the people of the flow (风控专员, then 总经理; never the
# proposer). Risk management revokes a granted limit (run); everyone else reads.
CREDIT_LIMIT = "CreditLimit"
RESOURCE_NAMES[CREDIT_LIMIT] = _l("Credit limits")
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD):
    ROLE_GRANTS[_role][CREDIT_LIMIT] = (READ, ADD, EXPORT)
for _role in (RISK_OFFICER, GENERAL_MANAGER):
    ROLE_GRANTS[_role][CREDIT_LIMIT] = (READ, EXPORT, RUN)
for _role in (COMMITTEE_MEMBER, ACCOUNTANT, FINANCE_REVIEWER, CASHIER):
    ROLE_GRANTS[_role][CREDIT_LIMIT] = READ_ONLY
ROLE_GRANTS[AUDITOR][CREDIT_LIMIT] = READ_EXPORT


# --- issue 6 (RAT-1, RAT-2, RAT-4): scoring models, ratings, batch re-rating (views/rating.py) -------------------
# Models are kept by risk management (and the administrator); the account manager rates the customers of his
# data scope (add: score, save, submit for review), the review itself is a step of the approval engine (风控专员).
# Batch re-rating is started and accepted by risk management / the general manager (run; never the same person).
RATING_MODEL = "RatingModel"
RATING = "Rating"
RATING_BATCH = "RatingBatch"
RESOURCE_NAMES.update({RATING_MODEL: _l("Scoring models"), RATING: _l("Customer ratings"),
                       RATING_BATCH: _l("Batch re-rating")})
ROLE_GRANTS[RISK_OFFICER].update({RATING_MODEL: ALL_VERBS, RATING: READ_EXPORT, RATING_BATCH: (READ, RUN)})
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD):
    ROLE_GRANTS[_role].update({RATING_MODEL: READ_ONLY, RATING: (READ, ADD, EXPORT)})
ROLE_GRANTS[GENERAL_MANAGER].update({RATING_MODEL: READ_ONLY, RATING: READ_EXPORT, RATING_BATCH: (READ, RUN)})
for _role in (COMMITTEE_MEMBER, ACCOUNTANT, FINANCE_REVIEWER, CASHIER):
    ROLE_GRANTS[_role].update({RATING_MODEL: READ_ONLY, RATING: READ_ONLY})
ROLE_GRANTS[AUDITOR].update({RATING_MODEL: READ_EXPORT, RATING: READ_EXPORT, RATING_BATCH: READ_EXPORT})


# --- issue 9 (WB-4, OA-1, GL-6, SYS-8, SYS-10): staff requests, their payment, corrections, clean-up ----------
# Every staff member files own requests (leave, borrowing, reimbursement; read: own history and pages). The
# approvals are decided in the approval engine by the people of the flows (never the requester). The cashier pays
# approved borrowings and reimbursements and records repayments (run); finance and management read the queue and
# the borrowing balances. Business-data corrections (undo a stage step, change the account manager) and the
# clean-up of abandoned drafts are the administrator's (who holds everything); the auditor and the general
# manager read the correction register. The month-end log lists the closes and reopens for finance and audit.
OFFICE_REQUEST = "OfficeRequest"  # 我的申请: read (own list and pages), add (file, send again, cancel)
OFFICE_PAYMENT = "OfficeRequestPayment"  # 出纳付款: read (queue, balances, every request page), run (pay, repay)
DATA_CORRECTION = "DataCorrection"  # 业务数据维护: read (register), run (undo a step, change manager), export
DATA_CLEANUP = "DataCleanup"  # 数据清理: read (preview), run (delete the chosen drafts)
MONTH_END_LOG = "MonthEndLog"  # 月终日志: read, export
RESOURCE_NAMES.update({OFFICE_REQUEST: _l("My requests"), OFFICE_PAYMENT: _l("Payments of staff requests"),
                       DATA_CORRECTION: _l("Business-data corrections"), DATA_CLEANUP: _l("Data clean-up"),
                       MONTH_END_LOG: _l("Month-end log")})
for _role in [r for r in ROLE_GRANTS if r != ADMIN]:
    ROLE_GRANTS[_role][OFFICE_REQUEST] = (READ, ADD)
ROLE_GRANTS[CASHIER][OFFICE_PAYMENT] = (READ, RUN)
for _role in (ACCOUNTANT, FINANCE_REVIEWER, GENERAL_MANAGER, AUDITOR):
    ROLE_GRANTS[_role][OFFICE_PAYMENT] = READ_ONLY
for _role in (GENERAL_MANAGER, AUDITOR):
    ROLE_GRANTS[_role][DATA_CORRECTION] = READ_EXPORT
for _role in (ACCOUNTANT, FINANCE_REVIEWER, GENERAL_MANAGER, AUDITOR):
    ROLE_GRANTS[_role][MONTH_END_LOG] = READ_EXPORT

# --- issue 9 (WB-3, WB-6, OA-2, SYS-11): office — messages and mail, address books, file cabinets, personal
# settings, help pages (views/office.py) ----------------------------------------------------------------------
# Everyone on the staff writes and reads his own messages (the service shows a message only to its sender and
# recipients), keeps his own address book and personal folders, uses the public folders his department or role
# opens (the service checks that), changes his own settings and reads the help pages. Public folders and the
# help pages are kept by the administrator (who holds everything); the auditor reads their definitions.
OFFICE_MESSAGE = "OfficeMessage"  # read: inbox, sent, open, mark, delete own; add: write
ADDRESS_BOOK = "AddressBook"  # personal contacts and groups (own rows), the generated books, export
FILE_CABINET = "FileCabinet"  # read: folders and downloads; add: upload, own folders; delete: own files
CABINET_FOLDER = "CabinetFolder"  # public folders and who may use them
PERSONAL_SETTINGS = "PersonalSettings"  # own password, rows per page, delegation
HELP_PAGE = "HelpPage"  # read the FAQ and contacts
HELP_ENTRY = "HelpEntry"  # keep the FAQ and contacts
RESOURCE_NAMES.update({
    OFFICE_MESSAGE: _l("Internal messages and mail"), ADDRESS_BOOK: _l("Address books"),
    FILE_CABINET: _l("File cabinets"), CABINET_FOLDER: _l("Public folders"),
    PERSONAL_SETTINGS: _l("Personal settings"), HELP_PAGE: _l("Help and support"), HELP_ENTRY: _l("Help entries"),
})
for _role in [r for r in ROLE_GRANTS if r != ADMIN]:
    ROLE_GRANTS[_role].update({
        OFFICE_MESSAGE: (READ, ADD), ADDRESS_BOOK: ALL_VERBS, FILE_CABINET: (READ, ADD, DELETE),
        PERSONAL_SETTINGS: (READ, EDIT), HELP_PAGE: READ_ONLY,
    })
ROLE_GRANTS[AUDITOR].update({CABINET_FOLDER: READ_ONLY, HELP_ENTRY: READ_EXPORT})

# Resources that hold only the user's own things (the services check ownership): every staff member, the
# read-only auditor included, writes his own messages, address book, files, settings and requests there.
PERSONAL_RESOURCES = {OFFICE_MESSAGE, ADDRESS_BOOK, FILE_CABINET, PERSONAL_SETTINGS, OFFICE_REQUEST}

# --- issue 8 (WB-1, WB-2, STAT-1..3): the workbench, statistics and regulatory indicators (views/statistics.py) --
# Every staff role keeps its own quick desktop (read the workbench, edit its modules). The portfolio statistics
# follow the data scope of the role (an account manager sees his own business); the regulatory indicators are
# company-wide, for management, risk, finance review and audit; the weight table and the asset-class mapping are
# the administrator's (who holds everything).
WORKBENCH = "Workbench"  # 快捷桌面: read (the modules page), edit (save one's own choice)
STATISTICS = "Statistics"  # 统计分析: read
REGULATORY = "Regulatory"  # 监管指标: read, run (recompute and store the month's snapshot)
REGULATORY_SETUP = "RegulatorySetup"  # 权重表, 资产分类: the administrator's; others read
RESOURCE_NAMES.update({WORKBENCH: _l("Quick desktop"), STATISTICS: _l("Portfolio statistics"),
                       REGULATORY: _l("Regulatory indicators"), REGULATORY_SETUP: _l("Regulatory weight table")})
for _role in [r for r in ROLE_GRANTS if r != ADMIN]:
    ROLE_GRANTS[_role][WORKBENCH] = (READ, EDIT)
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD, RISK_OFFICER, COMMITTEE_MEMBER, GENERAL_MANAGER, FINANCE_REVIEWER,
              AUDITOR):
    ROLE_GRANTS[_role][STATISTICS] = READ_ONLY
for _role in (RISK_OFFICER, GENERAL_MANAGER, FINANCE_REVIEWER):
    ROLE_GRANTS[_role].update({REGULATORY: (READ, RUN), REGULATORY_SETUP: READ_ONLY})
ROLE_GRANTS[AUDITOR].update({REGULATORY: READ_ONLY, REGULATORY_SETUP: READ_EXPORT})

# --- issue 10 (PORTAL-1..3): the online financing portal (views/portal.py) ------------------------------------
# Staff side only: verifying enterprise registrations and taking their needs on (read: the screen; run: approve /
# reject a registration, accept a need, ask for documents). The enterprise users' own role (企业用户,
# app/services/portal.PORTAL_ROLE) is deliberately not in ROLE_GRANTS: it holds no permission at all, not even
# the staff self-service ones, and views/portal.portal_guard fences it off every staff screen and API.
PORTAL_REVIEW = "PortalReview"
RESOURCE_NAMES[PORTAL_REVIEW] = _l("Online applications")
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD):
    ROLE_GRANTS[_role][PORTAL_REVIEW] = (READ, RUN)
for _role in (RISK_OFFICER, GENERAL_MANAGER, AUDITOR):
    ROLE_GRANTS[_role][PORTAL_REVIEW] = READ_ONLY

# --- issue 7 (POST-1..4): post-guarantee management (保后管理, views/post_guarantee.py) ---------------------------
# The account manager keeps the post-guarantee file of his guarantees (add: plans, repayments, inspection reports,
# classification proposals) and handles his warnings (run: acknowledge, resolve); risk management does the same for
# every guarantee and keeps the rules (warning rules, inspection intervals, product working-day rules: edit). The
# classification itself is decided in the approval engine. Everyone else reads.
POST_GUARANTEE = "PostGuarantee"  # repayment plans, repayments, inspections, classification
POST_WARNING = "PostWarning"  # 保后预警: read, run (acknowledge / resolve), export
POST_RULE = "PostRule"  # warning rules, inspection intervals, product post-guarantee rules
RESOURCE_NAMES.update({POST_GUARANTEE: _l("Post-guarantee management"), POST_WARNING: _l("Post-guarantee warnings"),
                       POST_RULE: _l("Post-guarantee rules")})
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD, RISK_OFFICER):
    ROLE_GRANTS[_role].update({POST_GUARANTEE: (READ, ADD, EXPORT), POST_WARNING: (READ, RUN, EXPORT)})
ROLE_GRANTS[RISK_OFFICER][POST_RULE] = (READ, EDIT)
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD, GENERAL_MANAGER):
    ROLE_GRANTS[_role][POST_RULE] = READ_ONLY
ROLE_GRANTS[GENERAL_MANAGER].update({POST_GUARANTEE: READ_EXPORT, POST_WARNING: READ_EXPORT})
for _role in (COMMITTEE_MEMBER, ACCOUNTANT, FINANCE_REVIEWER, CASHIER):
    ROLE_GRANTS[_role].update({POST_GUARANTEE: READ_ONLY, POST_WARNING: READ_ONLY})
ROLE_GRANTS[AUDITOR].update({POST_GUARANTEE: READ_EXPORT, POST_WARNING: READ_EXPORT, POST_RULE: READ_EXPORT})


# --- issue 7 (COL-1..4): collateral (押品管理, views/collateral.py) ---------------------------------------------
# The account manager registers the collateral of his customers and keeps its file (add/edit: certificates,
# valuations, monitoring reports, links to counter-guarantee measures); risk management does so for every customer
# and keeps the certificate vault (run: 入库, 归还, and the requests to lend or take a certificate out, which the
# approval engine decides — 部门负责人 then 总经理 by default). The kind-specific fields are the administrator's.
COLLATERAL = "Collateral"  # registry, valuations, monitoring, queries and export
COLLATERAL_VAULT = "CollateralVault"  # 权证库: where every certificate is (read, export), vault actions (run)
COLLATERAL_FIELD = "CollateralField"  # 押品要素设置 (administrator)
RESOURCE_NAMES.update({COLLATERAL: _l("Collateral registry"), COLLATERAL_VAULT: _l("Certificate vault"),
                       COLLATERAL_FIELD: _l("Collateral fields")})
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD, RISK_OFFICER):
    ROLE_GRANTS[_role][COLLATERAL] = (READ, ADD, EDIT, EXPORT)
ROLE_GRANTS[RISK_OFFICER][COLLATERAL_VAULT] = (READ, EXPORT, RUN)
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD, GENERAL_MANAGER):
    ROLE_GRANTS[_role][COLLATERAL_VAULT] = READ_ONLY
ROLE_GRANTS[GENERAL_MANAGER][COLLATERAL] = READ_EXPORT
for _role in (COMMITTEE_MEMBER, ACCOUNTANT, FINANCE_REVIEWER, CASHIER):
    ROLE_GRANTS[_role][COLLATERAL] = READ_ONLY
ROLE_GRANTS[AUDITOR].update({COLLATERAL: READ_EXPORT, COLLATERAL_VAULT: READ_EXPORT, COLLATERAL_FIELD: READ_ONLY})


# --- issue 7 (POST-5..9): compensation, recovery, foreclosed assets, release, extension (views/post_settlement.py) --
# The account manager and risk management apply (add) for compensation, recovery and extension; the approvals
# are steps of the approval engine (风控专员, then 总经理; never the applicant). Money moves are the cashier's
# (run: pay the compensation, record recovery receipts, sell a foreclosed asset); release (run) is confirmed by
# risk management or the cashier (it refunds the margin). Early repayment is recorded by the business (edit).
# Foreclosed assets are registered and revalued by risk management; fee refund rules are risk management's.
COMPENSATION = "Compensation"
RECOVERY = "Recovery"
FORECLOSED_ASSET = "ForeclosedAsset"
SETTLEMENT = "GuaranteeSettlement"
FEE_REFUND_RULE = "FeeRefundRule"
RESOURCE_NAMES.update({COMPENSATION: _l("Compensation management"), RECOVERY: _l("Recovery management"),
                       FORECLOSED_ASSET: _l("Foreclosed assets"), SETTLEMENT: _l("Release and extension"),
                       FEE_REFUND_RULE: _l("Fee refund rules")})
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD):
    ROLE_GRANTS[_role].update({COMPENSATION: (READ, ADD, EXPORT), RECOVERY: (READ, ADD, EXPORT),
                               FORECLOSED_ASSET: READ_EXPORT, SETTLEMENT: (READ, ADD, EDIT, EXPORT),
                               FEE_REFUND_RULE: READ_ONLY})
ROLE_GRANTS[RISK_OFFICER].update({COMPENSATION: (READ, ADD, EXPORT), RECOVERY: (READ, ADD, EXPORT),
                                  FORECLOSED_ASSET: (READ, ADD, EDIT, EXPORT), SETTLEMENT: (READ, ADD, EDIT, EXPORT, RUN),
                                  FEE_REFUND_RULE: ALL_VERBS})
ROLE_GRANTS[CASHIER].update({COMPENSATION: (READ, RUN), RECOVERY: (READ, RUN), FORECLOSED_ASSET: (READ, RUN),
                             SETTLEMENT: (READ, RUN)})
for _role in (GENERAL_MANAGER, ACCOUNTANT, FINANCE_REVIEWER, AUDITOR):
    ROLE_GRANTS[_role].update({COMPENSATION: READ_EXPORT, RECOVERY: READ_EXPORT, FORECLOSED_ASSET: READ_EXPORT,
                               SETTLEMENT: READ_EXPORT, FEE_REFUND_RULE: READ_ONLY})
ROLE_GRANTS[COMMITTEE_MEMBER].update({COMPENSATION: READ_ONLY, RECOVERY: READ_ONLY, SETTLEMENT: READ_ONLY})

# --- issue 8 (STAT-2): the business ledgers 台账 (views/business_ledgers.py) -----------------------------------
# Read (screen, print) and export (Excel, PDF) the guarantee, compensation, recovery, collateral and fee ledgers,
# each in the user's data scope: the business and risk roles, management, finance and audit.
BUSINESS_LEDGER = "BusinessLedger"
RESOURCE_NAMES[BUSINESS_LEDGER] = _l("Business ledgers")
for _role in (ACCOUNT_MANAGER, DEPARTMENT_HEAD, RISK_OFFICER, GENERAL_MANAGER, ACCOUNTANT, FINANCE_REVIEWER, AUDITOR):
    ROLE_GRANTS[_role][BUSINESS_LEDGER] = READ_EXPORT
PERSONAL_RESOURCES.add(WORKBENCH)  # one's own quick desktop
