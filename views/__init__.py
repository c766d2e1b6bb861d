"""Every screen and API is registered here, in menu order."""
import importlib

from flask_babel import lazy_gettext as _l

# Modules whose views show as tabs on the customer pages (FAB related views). A module lists them in
# CUSTOMER_TABS (every customer), INDIVIDUAL_TABS or CORPORATE_TABS (one kind only).
CUSTOMER_TAB_MODULES: tuple[str, ...] = ("views.customer_records", "views.customer_relations",
                                         "views.attachments", "views.customer_finance",
                                         "views.credit_limits",  # 授信额度 tab (issue 6, RAT-3)
                                         "views.rating")  # 评级记录 tab (issue 6, RAT-2)


def customer_tabs(kind: str | None = None) -> list:
    modules = [importlib.import_module(name) for name in CUSTOMER_TAB_MODULES]
    tabs = [view for module in modules for view in getattr(module, "CUSTOMER_TABS", [])]
    if kind:
        tabs += [view for module in modules for view in getattr(module, f"{kind.upper()}_TABS", [])]
    return tabs


def register_views(appbuilder):
    from views import customers, system

    add = appbuilder.add_view
    from views import customer_relations

    for view in (customers.CustomerView, customers.IndividualCustomerView, customers.CorporateCustomerView):
        customer_relations.install_customer_actions(view)  # transfer, merge, 360 (before the views are added)
    customers.CustomerView.related_views = customer_tabs()
    add(customers.CustomerView, "Customers", label=_l("Customers"), icon="fa-users",
        category="CustomerManagement", category_label=_l("Customer management"), category_icon="fa-address-book")
    customers.IndividualCustomerView.related_views = customer_tabs("individual")
    customers.CorporateCustomerView.related_views = customer_tabs("corporate")
    add(customers.IndividualCustomerView, "IndividualCustomers", label=_l("Individual customers"), icon="fa-user",
        category="CustomerManagement")
    add(customers.CorporateCustomerView, "CorporateCustomers", label=_l("Corporate customers"), icon="fa-building-o",
        category="CustomerManagement")
    from views import customer_records

    customer_records.register(appbuilder)  # tabs, watch lists, guarantee partners and their APIs
    from views import customer_finance, customer_import

    appbuilder.add_view_no_menu(customer_finance.FinancialStatementView)  # corporate tab: financial statements
    add(customer_import.CustomerImportView, "CustomerImport", label=customer_import.MENU_LABEL, icon="fa-upload",
        category="CustomerManagement")
    customer_relations.register(appbuilder, dict(category="CustomerManagement"))  # relations, transfer, merge, 360
    appbuilder.add_api(customers.IndividualCustomerApi)
    appbuilder.add_api(customers.CorporateCustomerApi)

    from views import ledger, ledger_books

    ledger.register(appbuilder)  # Finance: chart of accounts, vouchers, event review, chain check (issue 5)
    ledger_books.register(appbuilder)  # Finance: month-end, books, statements (issue 5)

    from views import approval

    approval.register(appbuilder)  # 审批中心: my approvals, delegation, flows, rules, designer (issue 4)

    from views import products

    products.register(appbuilder)  # Business: guarantee products, cooperating banks and their APIs (issue 4)

    from views import guarantees

    guarantees.register(appbuilder)  # Business: guarantee applications to in force, business query, APIs (issue 4)

    from views import guarantee_backfill
    from views.products import BUSINESS_MENU

    add(guarantee_backfill.GuaranteeBackfillView, "GuaranteeBackfill", label=guarantee_backfill.MENU_LABEL,
        icon="fa-history", **BUSINESS_MENU)  # 历史补录 (issue 4, BIZ-13)

    from views import rating

    rating.register(appbuilder)  # 评级授信: ratings, batch re-rating, scoring models (issue 6)

    from views import credit_limits

    credit_limits.register(appbuilder)  # 评级授信 (category "Rating"): credit limits and their APIs (issue 6, RAT-3)

    from views import office

    office.register(appbuilder)  # 办公: messages, mail, address books, file cabinets, help; 我的 → personal settings (issue 9)

    from views import portal

    portal.register(appbuilder)  # 企业在线申请 (Business) and the enterprise portal under /portal (issue 10)

    from views import collateral

    collateral.register(appbuilder)  # 押品管理 (category "Collateral"): registry, certificate vault, fields (issue 7)

    from views import post_guarantee

    post_guarantee.register(appbuilder)  # 保后管理 (category "PostGuarantee"): ledger, inspections, warnings, rules (issue 7)

    from views import post_settlement

    post_settlement.register(appbuilder)  # 保后管理 (category "PostGuarantee"): compensation, recovery, foreclosed assets, release, extension (issue 7)

    org = dict(category="Organisation", category_label=_l("Organisation"), category_icon="fa-sitemap")
    add(system.CompanyInfoView, "Company", label=_l("Company information"), icon="fa-building", **org)
    add(system.DepartmentView, "Departments", label=_l("Departments"), icon="fa-sitemap", **org)
    add(system.EmployeeView, "Employees", label=_l("Employees"), icon="fa-id-badge", **org)
    add(system.ApprovalPostView, "ApprovalPosts", label=_l("Approval posts"), icon="fa-stamp", **org)

    sysm = dict(category="SystemManagement", category_label=_l("System management"), category_icon="fa-cogs")
    add(system.DictTypeView, "Dictionaries", label=_l("Data dictionaries"), icon="fa-book", **sysm)
    appbuilder.add_view_no_menu(system.DictItemView)
    add(system.SystemSettingView, "Settings", label=_l("System settings"), icon="fa-sliders", **sysm)
    add(system.NumberingRuleView, "NumberingRules", label=_l("Numbering rules"), icon="fa-list-ol", **sysm)
    add(system.DayEndRunView, "DayEnd", label=_l("Day-end batch"), icon="fa-moon-o", **sysm)
    appbuilder.add_view_no_menu(system.DayEndStepView)
    add(system.OperationLogView, "OperationLog", label=_l("Operation log"), icon="fa-history", **sysm)
    add(system.LoginLogView, "LoginLog", label=_l("Login log"), icon="fa-sign-in", **sysm)
    from views import roles

    add(roles.RoleAdminView, "RoleAdmin", label=_l("Roles and permissions"), icon="fa-key", **sysm)
    from views import customer_extras

    customer_extras.register(appbuilder)  # attachments tab endpoints; customer fields, completeness rules
    from views import documents

    documents.register(appbuilder, sysm)  # Word templates of letters, notices and contracts (issue 4)
    from views import corrections, office_requests

    corrections.register(appbuilder, sysm)  # corrections, draft clean-up, month-end log (issue 9, SYS-8/10)
    office_requests.register(appbuilder)  # 办公: my requests, the cashier's payments (issue 9, WB-4, OA-1)

    add(system.ExportJobView, "MyExports", label=_l("My exports"), icon="fa-download",
        category="Mine", category_label=_l("Mine"), category_icon="fa-user")

    from views import statistics

    statistics.register(appbuilder)  # 统计分析: portfolio, regulatory indicators, weight table; quick desktop (issue 8)
    from views import business_ledgers

    business_ledgers.register(appbuilder)  # 台账 and the post-guarantee figures (issue 8)

    _order_menu(appbuilder)

    for api in (customers.CustomerApi, system.DepartmentApi, system.EmployeeApi, system.ApprovalPostApi,
                system.DictTypeApi, system.DictItemApi, system.SystemSettingApi, system.NumberingRuleApi,
                system.OperationLogApi, system.LoginLogApi):
        appbuilder.add_api(api)


# The top menu in the order of the work, from the customer to the books; FAB lists categories in the order
# modules register them (its own 用户权限 first).
MENU_ORDER = ("CustomerManagement", "Business", "PostGuarantee", "Collateral", "Rating", "Approval", "Finance",
              "Statistics", "Office", "Organisation", "SystemManagement", "Security", "Mine")


def _order_menu(appbuilder):
    rank = {name: i for i, name in enumerate(MENU_ORDER)}
    appbuilder.menu.menu.sort(key=lambda item: rank.get(item.name, len(rank)))
