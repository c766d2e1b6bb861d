"""Make the roles in the database match app.permissions.ROLE_GRANTS (SYS-3).

Menu access follows from the grants: a role sees a menu entry when it may read the screen
behind it, and a category when it sees any entry in it.
"""
from app import permissions as P


def sync_roles(appbuilder) -> dict[str, int]:
    sm = appbuilder.sm
    # Register every view's permissions and menus first (FAB_UPDATE_PERMS is off for workers).
    appbuilder.add_permissions(update_perms=True)
    all_pvms = sm.session.query(sm.permissionview_model).all()
    by_pair = {(pv.permission.name, pv.view_menu.name): pv for pv in all_pvms}

    menu_of_view = _menu_entries(appbuilder)
    result = {}
    for role_name, grants in P.ROLE_GRANTS.items():
        role = sm.find_role(role_name) or sm.add_role(role_name)
        if role_name == P.ADMIN:
            wanted = list(by_pair.values())
        else:
            pairs = set()
            for resource, verbs in grants.items():
                pairs.update((P.can(v), resource) for v in verbs)
            pairs.update(P.SELF_SERVICE_FAB)
            for resource, verbs in grants.items():
                if P.READ in verbs:
                    for menu_name, category in menu_of_view.get(resource, []):
                        pairs.add(("menu_access", menu_name))
                        if category:
                            pairs.add(("menu_access", category))
            wanted = [by_pair[p] for p in sorted(pairs) if p in by_pair]
        role.permissions = wanted
        result[role_name] = len(wanted)
    sm.session.commit()
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


def permission_matrix(appbuilder) -> dict[str, list[str]]:
    """role -> sorted "permission on view" strings, as held in the database."""
    sm = appbuilder.sm
    matrix = {}
    for role in sm.session.query(sm.role_model).order_by(sm.role_model.name):
        matrix[role.name] = sorted(f"{pv.permission.name} on {pv.view_menu.name}" for pv in role.permissions)
    return matrix
