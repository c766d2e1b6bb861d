"""Register permissions and create the shipped roles of app.permissions.ROLE_GRANTS (SYS-3).

Start-up never undoes an administrator's changes to a role (issue 11): it creates missing roles and
grants newly registered permissions to the shipped roles that ROLE_GRANTS gives them; putting a shipped
role back to its definition is an explicit reset (the role page, or `flask sync-roles --reset`).

Menu access follows from the grants: a role sees a menu entry when it may read the screen
behind it, and a category when it sees any entry in it.

Permissions are registered here rather than by FAB's `add_permissions()`: FAB registers one view at
a time and deletes the permissions a view does not declare, so a screen and its REST API sharing one
`class_permission_name` (the screen has `can_export`, the API has not) would undo each other, and on
a fresh database (no admin role yet) FAB stops after the first permission of every view. Here the
declared set is the union over every registered view, API and menu entry, written in one transaction.
"""
import logging

from flask import current_app

from app import permissions as P

log = logging.getLogger(__name__)


def declared_permissions(appbuilder) -> set[tuple[str, str]]:
    """Every (permission, view menu) pair the registered views, APIs and menus declare."""
    pairs: set[tuple[str, str]] = set()
    for view in appbuilder.baseviews:
        for permission in getattr(view, "base_permissions", None) or []:
            pairs.add((permission, view.class_permission_name))
    if appbuilder.menu is not None:
        for category in appbuilder.menu.get_list():
            pairs.add(("menu_access", category.name))
            for item in category.childs or []:
                if item.name != "-":
                    pairs.add(("menu_access", item.name))
    return pairs


def register_permissions(appbuilder, created: set | None = None) -> dict[tuple[str, str], object]:
    """Create the missing permission/view-menu pairs and drop the ones no view declares any more.

    Returns (permission, view menu) -> PermissionView for every declared pair; the pairs created now are
    added to `created` when given. The caller commits.
    """
    sm = appbuilder.sm
    session = sm.session
    declared = declared_permissions(appbuilder)

    permissions = {p.name: p for p in session.query(sm.permission_model)}
    view_menus = {v.name: v for v in session.query(sm.viewmenu_model)}
    existing = {(pv.permission.name, pv.view_menu.name): pv
                for pv in session.query(sm.permissionview_model)
                if pv.permission is not None and pv.view_menu is not None}

    for perm_name, view_name in sorted(declared - existing.keys()):
        perm = permissions.get(perm_name)
        if perm is None:
            perm = permissions[perm_name] = sm.permission_model(name=perm_name)
            session.add(perm)
        view_menu = view_menus.get(view_name)
        if view_menu is None:
            view_menu = view_menus[view_name] = sm.viewmenu_model(name=view_name)
            session.add(view_menu)
        pv = sm.permissionview_model()
        pv.permission, pv.view_menu = perm, view_menu
        session.add(pv)
        existing[(perm_name, view_name)] = pv
        if created is not None:
            created.add((perm_name, view_name))

    stale = [pv for pair, pv in existing.items() if pair not in declared]
    if stale:
        for role in session.query(sm.role_model):
            kept = [pv for pv in role.permissions if pv not in stale]
            if len(kept) != len(role.permissions):
                role.permissions = kept
        for pv in stale:
            log.info("removing permission %s on %s: no view declares it", pv.permission.name, pv.view_menu.name)
            session.delete(pv)
    session.flush()
    return {pair: pv for pair, pv in existing.items() if pair in declared}


def role_pairs(role_name: str, declared: set[tuple[str, str]], menu_of_view) -> set[tuple[str, str]]:
    """The (permission, view menu) pairs a role of ROLE_GRANTS holds."""
    if role_name == P.ADMIN:
        return set(declared)
    grants = P.ROLE_GRANTS[role_name]
    pairs = set(P.SELF_SERVICE_FAB)
    for resource, verbs in grants.items():
        pairs.update((P.can(v), resource) for v in verbs)
        if P.READ in verbs:
            for menu_name, category in menu_of_view.get(resource, []):
                pairs.add(("menu_access", menu_name))
                if category:
                    pairs.add(("menu_access", category))
    return pairs & declared


def sync_roles(appbuilder, reset: bool | str | list = False) -> dict[str, int]:
    """Register the permissions and create the missing shipped roles (run at every start).

    An administrator's changes to a role survive: a shipped role that exists only gains the permissions
    registered for the first time now (a new screen reaches the roles ROLE_GRANTS gives it), and its data
    scope is set only when it has none. `reset=True` (CLI `flask sync-roles --reset`), or the name(s) of
    shipped roles, puts those roles back to their shipped definition: permissions and data scope.
    Returns role -> number of permissions held.
    """
    sm = appbuilder.sm
    session = sm.session
    created: set = set()
    by_pair = register_permissions(appbuilder, created)
    declared = set(by_pair)
    menu_of_view = _menu_entries(appbuilder)
    if reset is True:
        to_reset = set(P.ROLE_GRANTS)
    elif isinstance(reset, str):
        to_reset = {reset}
    else:
        to_reset = set(reset or ())
    result = {}
    for role_name in P.ROLE_GRANTS:
        role = session.query(sm.role_model).filter_by(name=role_name).one_or_none()
        shipped = role_pairs(role_name, declared, menu_of_view)
        if role is None or role_name in to_reset:
            if role is None:
                role = sm.role_model(name=role_name)
                session.add(role)
            role.permissions = [by_pair[p] for p in sorted(shipped)]
        else:
            held = set(role.permissions)
            new = [by_pair[p] for p in sorted(shipped & created) if by_pair[p] not in held]
            if new:
                role.permissions = [*role.permissions, *new]
        result[role_name] = len(role.permissions)
    session.flush()
    from app.services.role_admin import ensure_role_scopes

    ensure_role_scopes(reset=to_reset)
    # Anonymous visitors get nothing: the public role, if someone created it, holds no permission.
    public_name = current_app.config.get("AUTH_ROLE_PUBLIC", "Public")
    public = session.query(sm.role_model).filter_by(name=public_name).one_or_none()
    if public is not None and public.name not in P.ROLE_GRANTS:
        public.permissions = []
    session.commit()
    return result


def _menu_entries(appbuilder) -> dict[str, list[tuple[str, str]]]:
    """resource (class_permission_name) -> [(menu item name, category name)]."""
    out: dict[str, list] = {}

    def walk(items, category=None):
        for item in items:
            if item.childs:
                walk(item.childs, item.name)
                continue
            view = item.baseview
            if view is not None:
                out.setdefault(view.class_permission_name, []).append((item.name, category))

    walk(appbuilder.menu.get_list())
    return out


def permission_matrix(appbuilder, roles=None) -> dict[str, list[str]]:
    """role -> sorted "permission on view" strings, as held in the database (all roles, or `roles`)."""
    sm = appbuilder.sm
    matrix = {}
    for role in sm.session.query(sm.role_model).order_by(sm.role_model.name):
        if roles is not None and role.name not in roles:
            continue
        matrix[role.name] = sorted(f"{pv.permission.name} on {pv.view_menu.name}" for pv in role.permissions)
    return matrix
