"""Role administration (issue 11, SYS-3): the permission matrix, role management, data scopes, guard rails.

* The matrix: rows are the screens in menu order grouped by menu category, columns the business verbs
  (app.permission_names.COLUMNS); a cell holds the permission(s) of that verb. Menu access is derived
  from the screen permissions on every save, never set by hand.
* Guard rails hold for every channel (this page, FAB's user and role screens, the REST security API,
  scripts): session hooks refuse a flush that leaves no active administrator or deletes a role users
  hold, and log every change of a role's name or permissions and of a user's roles as old → new.
* Data scopes: models/system_scope.RoleDataScope, read by app/services/data_scope.py per request.
"""
from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime

from flask import current_app
from flask_appbuilder.security.sqla.models import (
    Permission, PermissionView, Role, User, ViewMenu, assoc_user_role,
)
from flask_babel import gettext
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from app import permission_names as N
from app import permissions as P
from app.errors import Conflict, NotFound, ValidationError
from app.services.data_scope import SCOPES, shipped_scope

ROLE_NAME_MAX = 64  # ab_role.name


# --- helpers -----------------------------------------------------------------------------------------------

def _appbuilder():
    return current_app.appbuilder


def _session():
    return _appbuilder().sm.session


def get_role(role_id) -> Role:
    try:
        role_id = int(role_id)
    except (TypeError, ValueError):
        role_id = None
    role = _session().get(Role, role_id) if role_id is not None and 0 < role_id < 2**31 else None
    if role is None:
        raise NotFound(gettext("The role does not exist."))
    return role


def is_builtin(role) -> bool:
    return role.name in P.ROLE_GRANTS


def scope_labels() -> dict:
    return {
        "own": gettext("Own records"),
        "department": gettext("Own department"),
        "department_tree": gettext("Own department and sub-departments"),
        "all": gettext("All records"),
    }


# --- the layout of the matrix ---------------------------------------------------------------------------

def _view_kinds(appbuilder):
    from flask_appbuilder.api import BaseApi as FabBaseApi

    screens, apis = set(), set()
    for view in appbuilder.baseviews:
        name = getattr(view, "class_permission_name", None)
        if name:
            (apis if isinstance(view, FabBaseApi) else screens).add(name)
    return screens, apis


def declared_pairs(appbuilder=None) -> set[tuple[str, str]]:
    """Every grantable (permission, resource) pair, menu access excluded (it is derived)."""
    from app.services.roles import declared_permissions

    return {pair for pair in declared_permissions(appbuilder or _appbuilder()) if pair[0] != "menu_access"}


def layout(appbuilder=None) -> list[dict]:
    """[{label, rows: [{resource, label, cells: {column: [(permission, resource, label)]}}]}] in menu order.

    FAB's security menu comes last, then everything without a menu entry ("Other permissions")."""
    appbuilder = appbuilder or _appbuilder()
    pairs = declared_pairs(appbuilder)
    by_resource: dict[str, list[str]] = {}
    for perm, res in pairs:
        by_resource.setdefault(res, []).append(perm)
    screens, apis = _view_kinds(appbuilder)
    placed: set[str] = set()

    def row(resource, label):
        cells = {column: [] for column in N.COLUMNS}
        for res in (resource, N.FAB_API_TWINS.get(resource)):
            if not res or res not in by_resource or res in placed:
                continue
            placed.add(res)
            api_only = (res in apis and res not in screens) or res != resource
            for perm in sorted(by_resource[res]):
                name = (N.API_VERB_NAMES.get(perm) if api_only else None) or N.permission_name(perm) or perm
                cells[N.column_of(perm, api_only)].append((perm, res, str(name)))
        if not any(cells.values()):
            return None
        return {"resource": resource, "label": str(label or N.resource_name(resource) or resource), "cells": cells}

    def rows_for(resource, label):
        """The screen's row, then the rows of the resources placed below it."""
        out = [row(resource, label)]
        for other, anchor in N.RESOURCE_PLACEMENT.items():
            if anchor == resource and other in by_resource and other not in placed:
                out.append(row(other, None))
        return [r for r in out if r]

    groups, security = [], []
    for category in appbuilder.menu.get_list():
        items = category.childs or ([category] if category.baseview is not None else [])
        rows = []
        for item in items:
            view = getattr(item, "baseview", None)
            resource = getattr(view, "class_permission_name", None)
            if resource and resource not in placed:
                rows.extend(rows_for(resource, N.resource_name(resource) or item.label))
        if rows:
            group = {"label": str(category.label or category.name), "rows": rows}
            (security if category.name == "Security" else groups).append(group)
    others = [row(res, None) for res in sorted(by_resource, key=lambda r: str(N.resource_name(r) or r))
              if res not in placed]
    others = [r for r in others if r]
    if others:
        security.append({"label": gettext("Other permissions"), "rows": others})
    return groups + security


def _pv_index() -> dict[tuple[str, str], PermissionView]:
    session = _session()
    rows = session.execute(
        select(PermissionView, Permission.name, ViewMenu.name)
        .join(Permission, PermissionView.permission_id == Permission.id)
        .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
    ).all()
    return {(perm, res): pv for pv, perm, res in rows}


def held_pairs(role) -> set[tuple[str, str]]:
    return {(pv.permission.name, pv.view_menu.name) for pv in role.permissions
            if pv.permission is not None and pv.view_menu is not None}


def menu_pairs(pairs: set[tuple[str, str]], appbuilder=None) -> set[tuple[str, str]]:
    """The menu entries (and their categories) whose screen the given permissions open."""
    from app.services.roles import _menu_entries

    out = set()
    for resource, entries in _menu_entries(appbuilder or _appbuilder()).items():
        if ("can_read", resource) in pairs or ("can_list", resource) in pairs:
            for item, category in entries:
                out.add(("menu_access", item))
                if category:
                    out.add(("menu_access", category))
    return out


# --- data scopes ------------------------------------------------------------------------------------------

def get_scope(role) -> str:
    from models.system_scope import RoleDataScope

    row = _session().execute(select(RoleDataScope).where(RoleDataScope.role_id == role.id)).scalar()
    return row.scope if row is not None else shipped_scope(role.name)


def set_scope(role, scope: str) -> None:
    from models.system_scope import RoleDataScope

    if scope not in SCOPES:
        raise ValidationError(gettext("Choose one of the data scopes offered."), "scope")
    session = _session()
    row = session.execute(select(RoleDataScope).where(RoleDataScope.role_id == role.id)).scalar()
    if row is None:
        session.add(RoleDataScope(role_id=role.id, scope=scope))
    elif row.scope != scope:
        row.scope = scope


def ensure_role_scopes(reset=()) -> None:
    """Give each shipped role its shipped scope when it has none (or when it is being reset). No commit."""
    from models.system_scope import RoleDataScope

    session = _session()
    roles = {r.name: r for r in session.query(Role).filter(Role.name.in_(list(P.ROLE_GRANTS)))}
    stored = {row.role_id: row for row in session.query(RoleDataScope)}
    for name, role in roles.items():
        row = stored.get(role.id)
        if row is None:
            session.add(RoleDataScope(role_id=role.id, scope=shipped_scope(name)))
        elif name in reset and row.scope != shipped_scope(name):
            row.scope = shipped_scope(name)
    session.flush()


# --- reading roles ---------------------------------------------------------------------------------------

def roles_with_counts() -> list[dict]:
    session = _session()
    counts = dict(session.execute(
        select(assoc_user_role.c.role_id, func.count()).group_by(assoc_user_role.c.role_id)).all())
    labels = scope_labels()
    out = []
    for role in session.query(Role).order_by(Role.id):
        scope = get_scope(role)
        out.append({"role": role, "users": counts.get(role.id, 0), "builtin": is_builtin(role),
                    "scope": scope, "scope_label": labels.get(scope, scope),
                    "description": str(P.ROLE_DESCRIPTIONS.get(role.name, ""))})
    return out


def role_users(role) -> list[User]:
    return (_session().query(User).join(assoc_user_role, assoc_user_role.c.user_id == User.id)
            .filter(assoc_user_role.c.role_id == role.id).order_by(User.username).all())


def matrix_view(role) -> list[dict]:
    """The layout with each permission marked held or not for `role`."""
    held = held_pairs(role)
    groups = layout()
    for group in groups:
        for row in group["rows"]:
            row["marks"] = {column: [(perm, res, label, (perm, res) in held) for perm, res, label in cells]
                            for column, cells in row["cells"].items()}
    return groups


def compare(role_a, role_b) -> list[dict]:
    """Side by side: per cell the marks of both roles and whether they differ."""
    held_a, held_b = held_pairs(role_a), held_pairs(role_b)
    groups = layout()
    for group in groups:
        for row in group["rows"]:
            row["diff"] = False
            row["marks"] = {}
            for column, cells in row["cells"].items():
                marks = [(label, (perm, res) in held_a, (perm, res) in held_b) for perm, res, label in cells]
                row["marks"][column] = marks
                row["diff"] = row["diff"] or any(a != b for _, a, b in marks)
    return groups


# --- changing roles --------------------------------------------------------------------------------------

def _check_name(name: str, role=None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(gettext("Enter the role name."), "name")
    if len(name) > ROLE_NAME_MAX:
        raise ValidationError(gettext("The role name may have at most %(n)s characters.", n=ROLE_NAME_MAX), "name")
    if any(ch in name for ch in "\x00\r\n\t"):
        raise ValidationError(gettext("The role name contains characters that are not allowed."), "name")
    clash = _session().execute(select(Role.id).where(Role.name == name)).scalar()
    if clash is not None and (role is None or clash != role.id):
        raise ValidationError(gettext("A role with this name already exists."), "name")
    return name


def create_role(name: str, copy_from=None) -> Role:
    """A new role: empty (own records only), or a copy of `copy_from` (permissions and data scope)."""
    session = _session()
    name = _check_name(name)
    role = Role(name=name)
    if copy_from is not None:
        role.permissions = list(copy_from.permissions)
    session.add(role)
    session.flush()
    set_scope(role, get_scope(copy_from) if copy_from is not None else "own")
    session.commit()
    return role


def rename_role(role, name: str) -> Role:
    if is_builtin(role):
        raise ValidationError(gettext("A built-in role keeps its name; copy it to make a role of your own."), "name")
    role.name = _check_name(name, role)
    _session().commit()
    return role


def delete_role(role) -> None:
    if is_builtin(role):
        raise ValidationError(gettext("A built-in role cannot be deleted; it can be reset to its shipped definition."))
    _session().delete(role)  # the session hook refuses while users hold it
    _session().commit()


def save_matrix(role, ticked: set[tuple[str, str]], scope: str | None = None) -> dict:
    """Make `role` hold exactly the ticked permissions (plus the menu entries they open) and the scope.

    Unknown pairs are refused. Returns {"added": n, "removed": n, "scope_changed": bool} (menu entries not counted)."""
    if role.name == P.ADMIN:
        raise ValidationError(gettext("The administrator role always holds every permission; it cannot be edited."))
    grantable = declared_pairs()
    unknown = set(ticked) - grantable
    if unknown:
        raise ValidationError(gettext("Some of the submitted permissions do not exist. Reload the page."))
    wanted = set(ticked) | menu_pairs(set(ticked))
    index = _pv_index()
    before = held_pairs(role)
    role.permissions = [index[pair] for pair in sorted(wanted) if pair in index]
    scope_before = get_scope(role)
    if scope is not None:
        set_scope(role, scope)
    _session().commit()
    return {"added": len(set(ticked) - before), "removed": len({p for p in before - wanted if p[0] != "menu_access"}),
            "scope_changed": scope is not None and scope != scope_before}


def reset_role(role) -> None:
    """Put a shipped role back to its shipped permissions and data scope (ROLE_GRANTS, ROLE_SCOPES)."""
    from app.services.roles import sync_roles

    if not is_builtin(role):
        raise ValidationError(gettext("Only a built-in role has a shipped definition to reset to."))
    sync_roles(_appbuilder(), reset=role.name)


def parse_ticked(values) -> set[tuple[str, str]]:
    """Form values "permission|resource" -> pairs."""
    out = set()
    for value in values:
        perm, sep, res = (value or "").partition("|")
        if sep and perm and res:
            out.add((perm, res))
    return out


# --- export -----------------------------------------------------------------------------------------------

def matrix_table() -> tuple[list[str], list[list]]:
    """Headers and rows of every role's matrix: the data scopes, then one row per permission (✓ when held)."""
    session = _session()
    roles = session.query(Role).order_by(Role.id).all()
    held = {role.id: held_pairs(role) for role in roles}
    labels = scope_labels()
    headers = [gettext("Module"), gettext("Screen"), gettext("Permission")] + [r.name for r in roles]
    rows = [[gettext("Data scope"), "", ""] + [labels.get(get_scope(r), "") for r in roles]]
    column_names = {c: str(N.COLUMN_NAMES[c]) for c in N.COLUMNS}
    for group in layout():
        for row in group["rows"]:
            for column in N.COLUMNS:
                for perm, res, label in row["cells"][column]:
                    name = label if label == column_names[column] else f"{column_names[column]}: {label}"
                    rows.append([group["label"], row["label"], name]
                                + ["✓" if (perm, res) in held[role.id] else "" for role in roles])
    return headers, rows


def export_matrix() -> str:
    """The matrix of all roles as an Excel file (reports/excel.py); returns its path (the caller removes it)."""
    from reports.excel import write_table

    headers, rows = matrix_table()
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    write_table(path, gettext("Permission matrix"), headers, rows)
    return path


# --- guard rails and the operation log (every channel) -----------------------------------------------

def _admin_role(session):
    return session.execute(select(Role).where(Role.name == P.ADMIN)).scalar()


def _loaded_history(obj, key):
    state = inspect(obj)
    if key not in state.dict and not state.attrs[key].history.has_changes():
        return None
    return state.attrs[key].history


def check_administrators(session) -> None:
    """Refuse a change that leaves no active user with the administrator role."""
    def touches_roles(obj) -> bool:
        if obj in session.deleted:
            return True
        roles_hist = _loaded_history(obj, "roles")
        return bool(roles_hist is not None and roles_hist.has_changes()) or inspect(obj).attrs.active.history.has_changes()

    users = [o for o in list(session.dirty) + list(session.deleted) if isinstance(o, User) and touches_roles(o)]
    if not users:  # a login (counters, last login) does not change who administers
        return
    with session.no_autoflush:
        admin = _admin_role(session)
        if admin is None:
            return
        losing, gaining = set(), set()
        for obj in list(session.dirty) + list(session.deleted) + list(session.new):
            if not isinstance(obj, User):
                continue
            roles_hist = _loaded_history(obj, "roles")
            holds_now = admin in obj.roles if roles_hist is not None else None
            if obj in session.deleted:
                losing.add(obj.id)
                continue
            if roles_hist is not None and roles_hist.has_changes():
                if admin in (roles_hist.deleted or ()) and not holds_now:
                    losing.add(obj.id)
                if holds_now and obj.active is not False:
                    gaining.add(obj.id)
            active_hist = inspect(obj).attrs.active.history
            if active_hist.has_changes() and obj.active is False:
                losing.add(obj.id)
        if not losing:
            return
        current = {uid for (uid,) in session.execute(
            select(User.id).join(assoc_user_role, assoc_user_role.c.user_id == User.id)
            .where(assoc_user_role.c.role_id == admin.id, User.active.is_(True))).all()}
        remaining = (current - losing) | (gaining - losing)
        if not remaining:
            raise ValidationError(gettext("The last administrator cannot lose the administrator role."), "roles")


def check_role_deletions(session) -> None:
    with session.no_autoflush:
        for obj in session.deleted:
            if isinstance(obj, Role) and obj.id is not None:
                refuse_held_role_deletion(obj)


@event.listens_for(Session, "before_flush")
def _guard(session, flush_context, instances):
    if not any(isinstance(o, (User, Role)) for o in list(session.dirty) + list(session.deleted)):
        return
    check_role_deletions(session)
    check_administrators(session)


def _pv_label(pv) -> str:
    try:
        return N.label(pv.permission.name, pv.view_menu.name)
    except Exception:  # noqa: BLE001 - a half-built permission: log its id rather than fail the save
        return f"#{pv.id}"


def _names(roles) -> list[str]:
    return sorted(r.name for r in roles)


@event.listens_for(Session, "after_flush")
def _log_security_changes(session, flush_context):
    """Readable old → new entries for roles (name, each permission) and users' roles."""
    from app.audit import current_actor
    from models.system import OperationLog

    rows = []
    with session.no_autoflush:
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            action = "insert" if obj in session.new else "delete" if obj in session.deleted else "update"
            if isinstance(obj, Role):
                changes = {}
                name_hist = inspect(obj).attrs.name.history
                if action == "insert":
                    changes["name"] = [None, obj.name]
                elif action == "delete":
                    changes["name"] = [obj.name, None]
                elif name_hist.has_changes() and name_hist.deleted:
                    changes["name"] = [name_hist.deleted[0], obj.name]
                hist = _loaded_history(obj, "permissions")
                if hist is not None:
                    for pv in hist.added or ():
                        if pv.permission is not None and pv.permission.name == "menu_access":
                            continue
                        changes[_pv_label(pv)] = [False, True]
                    if action != "delete":
                        for pv in hist.deleted or ():
                            if pv.permission is not None and pv.permission.name == "menu_access":
                                continue
                            changes[_pv_label(pv)] = [True, False]
                if changes:
                    rows.append(("ab_role", action, str(obj.id), changes))
            elif isinstance(obj, User) and action != "insert":
                hist = _loaded_history(obj, "roles")
                if hist is not None and hist.has_changes():
                    old = _names(list(hist.unchanged or ()) + list(hist.deleted or ()))
                    new = _names(list(hist.unchanged or ()) + list(hist.added or ()))
                    if old != new:
                        rows.append(("ab_user_role", action, str(obj.id), {"user": [obj.username, obj.username],
                                                                           "roles": [old, new]}))
            elif isinstance(obj, User) and obj.roles:
                rows.append(("ab_user_role", action, str(obj.id), {"user": [None, obj.username],
                                                                   "roles": [None, _names(obj.roles)]}))
    if not rows:
        return
    user_id, username = current_actor()
    now = datetime.now()
    session.execute(OperationLog.__table__.insert(), [
        {"at": now, "user_id": user_id, "username": username, "action": action, "table_name": table,
         "record_id": record, "changes": json.dumps(changes, ensure_ascii=False, default=str)}
        for table, action, record, changes in rows
    ])


def refuse_last_admin_removal(user) -> None:
    """Before deleting `user`: refuse when it is the last active administrator."""
    session = _session()
    with session.no_autoflush:
        admin = _admin_role(session)
        if admin is None or admin not in (user.roles or []):
            return
        others = session.execute(
            select(func.count()).select_from(User).join(assoc_user_role, assoc_user_role.c.user_id == User.id)
            .where(assoc_user_role.c.role_id == admin.id, User.active.is_(True), User.id != user.id)).scalar()
    if not others:
        raise ValidationError(gettext("The last administrator cannot lose the administrator role."), "roles")


def refuse_held_role_deletion(role) -> None:
    holders = _session().execute(select(func.count()).select_from(assoc_user_role)
                                 .where(assoc_user_role.c.role_id == role.id)).scalar()
    if holders:
        raise Conflict(gettext("The role cannot be deleted while %(n)s user(s) hold it.", n=holders))
