"""Business names of every permission (issue 11): what administrators read in the role matrix.

FAB stores a permission as a technical pair ("can_delete" on "Customer"). The matrix shows the
resource under its business name (app.permissions.RESOURCE_NAMES for the application's own screens,
FAB_RESOURCE_NAMES below for FAB's security screens and APIs) and the permission under a verb or
action name from VERB_NAMES / ACTION_NAMES. tests/unit/test_permission_names.py fails when a
registered screen, API or action has no name here: a new `@action("approve", ...)` needs an entry in
ACTION_NAMES, a new resource one in RESOURCE_NAMES.
"""
from flask_babel import lazy_gettext as _l

from app.permissions import RESOURCE_NAMES

# The matrix columns, in order.
COLUMNS = ("read", "add", "edit", "delete", "export", "operate", "api")
COLUMN_NAMES = {
    "read": _l("View"), "add": _l("Add"), "edit": _l("Edit"), "delete": _l("Delete"), "export": _l("Export"),
    "operate": _l("Approve / operate"), "api": _l("API"),
}

# permission name -> matrix column (anything else is an action: column "operate").
COLUMN_OF = {
    "can_read": "read", "can_list": "read", "can_show": "read", "can_download": "read",
    "can_add": "add", "can_edit": "edit", "can_delete": "delete", "can_export": "export",
    "can_get": "api", "can_post": "api", "can_put": "api", "can_info": "api",
}

# Verbs of the screens and APIs.
VERB_NAMES = {
    "can_read": _l("View"), "can_add": _l("Add"), "can_edit": _l("Edit"), "can_delete": _l("Delete"),
    "can_export": _l("Export"), "can_run": _l("Run"),
    # FAB's own screens split "view" into list, show and download.
    "can_list": _l("List"), "can_show": _l("Details"), "can_download": _l("Download"),
    # REST verbs of FAB's own APIs.
    "can_get": _l("API read"), "can_post": _l("API create"), "can_put": _l("API update"),
    "can_info": _l("API field information"),
    "menu_access": _l("Menu"),
}

# Actions and special permissions (FAB's and the application's @action names, custom permission names).
ACTION_NAMES = {
    "can_userinfo": _l("Own profile"),
    "userinfoedit": _l("Edit own profile"),
    "resetmypassword": _l("Change own password"),
    "resetpasswords": _l("Reset passwords"),
    "can_this_form_get": _l("Open the form"),
    "can_this_form_post": _l("Submit the form"),
    "copyrole": _l("Copy role"),
    "can_add_role_permissions": _l("API: set role permissions"),
    "can_list_role_permissions": _l("API: list role permissions"),
    "can_update_role_users": _l("API: set role users"),
    "can_update_role_groups": _l("API: set role groups"),
    "muldelete": _l("Delete selected"),
    # Application actions (issues 3, 5 …): add yours here.
    "customer_360": _l("Customer overview"),
    "review": _l("Review"), "unreview": _l("Cancel review"),
    "post": _l("Post"),
    "sign": _l("Cashier sign"), "unsign": _l("Cancel cashier sign"),
}

# FAB's own resources (security screens and APIs, self-service forms, API documentation).
FAB_RESOURCE_NAMES = {
    "UserDBModelView": _l("Users"), "User": _l("Users (API)"),
    "RoleModelView": _l("Roles (FAB screen)"), "Role": _l("Roles (API)"),
    "UserGroupModelView": _l("User groups"), "Group": _l("User groups (API)"),
    "PermissionModelView": _l("Base permissions"), "Permission": _l("Base permissions (API)"),
    "ViewMenuModelView": _l("Views and menus"), "ViewMenu": _l("Views and menus (API)"),
    "PermissionViewModelView": _l("Permissions on views and menus"),
    "PermissionViewMenu": _l("Permissions on views and menus (API)"),
    "ResetPasswordView": _l("Reset a user's password"), "ResetMyPasswordView": _l("Change own password"),
    "UserInfoEditView": _l("Edit own profile"), "MenuApi": _l("Menu (API)"),
    "OpenApi": _l("API description (OpenAPI)"), "SwaggerView": _l("API documentation (Swagger)"),
    "UserStatsChartView": _l("User statistics"),
}

# A FAB screen and the API of the same thing share one row of the matrix (the API's permissions in the
# API column).
FAB_API_TWINS = {
    "UserDBModelView": "User", "RoleModelView": "Role", "UserGroupModelView": "Group",
    "PermissionModelView": "Permission", "ViewMenuModelView": "ViewMenu",
    "PermissionViewModelView": "PermissionViewMenu",
}


# Resources without a menu entry of their own (an operation of another screen) are shown in the matrix
# right below the screen they belong to; anything unplaced goes to "Other permissions" at the end.
RESOURCE_PLACEMENT = {
    "VoucherReview": "Voucher", "VoucherPost": "Voucher", "CashierSign": "Voucher",
    "PeriodReopen": "PeriodClose",
    "ResetMyPasswordView": "UserDBModelView", "UserInfoEditView": "UserDBModelView",
    "ResetPasswordView": "UserDBModelView",
}

# Labels of a screen verb when it is an API-only permission (FAB's security APIs).
API_VERB_NAMES = {"can_delete": _l("API delete")}


def resource_name(resource: str):
    return RESOURCE_NAMES.get(resource) or FAB_RESOURCE_NAMES.get(resource)


def permission_name(permission: str):
    return VERB_NAMES.get(permission) or ACTION_NAMES.get(permission)


def column_of(permission: str, api_only: bool = False) -> str:
    if api_only:
        return "api"
    return COLUMN_OF.get(permission, "operate")


def label(permission: str, resource: str) -> str:
    """"Customers: Delete" in the user's language; the technical pair only for an unnamed permission."""
    res = resource_name(resource)
    perm = permission_name(permission)
    return f"{res or resource}: {perm or permission}"
