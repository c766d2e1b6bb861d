"""Every screen and API is registered here, in menu order."""
from flask_babel import lazy_gettext as _l


def register_views(appbuilder):
    from views import customers, system

    add = appbuilder.add_view
    add(customers.CustomerView, "Customers", label=_l("Customers"), icon="fa-users",
        category="CustomerManagement", category_label=_l("Customer management"), category_icon="fa-address-book")

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

    add(system.ExportJobView, "MyExports", label=_l("My exports"), icon="fa-download",
        category="Mine", category_label=_l("Mine"), category_icon="fa-user")

    for api in (customers.CustomerApi, system.DepartmentApi, system.EmployeeApi, system.ApprovalPostApi,
                system.DictTypeApi, system.DictItemApi, system.SystemSettingApi, system.NumberingRuleApi,
                system.OperationLogApi, system.LoginLogApi):
        appbuilder.add_api(api)
