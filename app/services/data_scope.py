"""Data scope (部门归属, issue 11): which business records a user sees, one mechanism for every screen and API.

Each role carries a scope (models/system_scope.RoleDataScope; shipped defaults in
app.permissions.ROLE_SCOPES):

* ``own``              the records the user owns;
* ``department``       the user's own records and those of the user's department;
* ``department_tree``  the user's own records and those of the department and all its sub-departments;
* ``all``              every record.

A user holding several roles gets the widest scope. The user's department is the department of the
employee linked to the login (Employee.user_id); without one, "department" scopes fall back to "own".

Which models are scoped:

* every ``OwnedMixin`` model, by its ``owner_id`` and ``department_id`` columns; a model names a
  different owner column with ``__scope_owner__ = "manager_id"`` (customers: the account manager);
* a child record without an owner of its own declares ``__scope_parent__ = "customer"`` (a many-to-one
  relationship) and is visible exactly when its parent is (EXISTS on the parent, recursively);
* ``__data_scope__ = False`` opts a model out.

The condition is applied by ``views.api_support.SafeInterface`` (the datamodel of every screen and
API), so lists, counts, show/edit/delete by id, actions, exports, related tabs and the choices of
relation fields all agree; services call ``apply_scope`` / ``ensure_visible`` for their own queries.
The scope of the current user is computed once per request (flask ``g``) and never cached longer:
a change by the administrator applies from the user's next request on, on every worker.
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import g, has_request_context
from flask_babel import gettext
from sqlalchemy import false, inspect, or_, select
from sqlalchemy.sql import Select

from app.errors import NotFound

SCOPES = ("own", "department", "department_tree", "all")
OWN, DEPARTMENT, DEPARTMENT_TREE, ALL = SCOPES
_RANK = {scope: i for i, scope in enumerate(SCOPES)}


def widest(scopes) -> str:
    scopes = [s for s in scopes if s in _RANK]
    return max(scopes, key=_RANK.__getitem__) if scopes else OWN


def shipped_scope(role_name: str) -> str:
    from app.permissions import ROLE_SCOPES

    return ROLE_SCOPES.get(role_name, OWN)


# --- which models are scoped ------------------------------------------------------------------------

def is_scoped(model) -> bool:
    from models.mixins import OwnedMixin

    if getattr(model, "__data_scope__", True) is False:
        return False
    return bool(getattr(model, "__scope_parent__", None)) or (isinstance(model, type) and issubclass(model, OwnedMixin))


def _owner_column(model):
    return getattr(model, getattr(model, "__scope_owner__", None) or "owner_id")


# --- the current user's scope ------------------------------------------------------------------------

class UserScope:
    """What one user sees: the scope, the user id and the department ids it covers."""

    __slots__ = ("user_id", "scope", "department_ids")

    def __init__(self, user_id, scope, department_ids=()):
        self.user_id, self.scope, self.department_ids = user_id, scope, tuple(department_ids)

    def __repr__(self):
        return f"UserScope({self.user_id}, {self.scope}, {self.department_ids})"


@contextmanager
def acting_for(user):
    """Run service code of this request with `user`'s data scope instead of the logged-in user's (the online
    portal hands a company's need to its account manager, whose scope holds the company's customer)."""
    previous = g.get("_scope_user")
    g._scope_user = user
    try:
        yield
    finally:
        g._scope_user = previous


def _request_user():
    from flask_login import current_user

    if g.get("_scope_user") is not None:
        return g._scope_user
    user = None
    try:
        from app.web_hooks import _bearer_user

        user = _bearer_user()
    except Exception:  # noqa: BLE001 - no JWT machinery for this request: fall back to the session
        user = None
    if user is None:
        user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        user = current_user if getattr(current_user, "is_authenticated", False) else None
    return user


def role_scopes(role_ids) -> dict[int, str]:
    """role id -> scope as stored (roles without a row get their shipped scope, or "own")."""
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import Role
    from models.system_scope import RoleDataScope

    role_ids = list(role_ids)
    if not role_ids:
        return {}
    stored = dict(db.session.execute(
        select(RoleDataScope.role_id, RoleDataScope.scope).where(RoleDataScope.role_id.in_(role_ids))).all())
    missing = [rid for rid in role_ids if rid not in stored]
    if missing:
        for rid, name in db.session.execute(select(Role.id, Role.name).where(Role.id.in_(missing))).all():
            stored[rid] = shipped_scope(name)
    return stored


def user_department_id(user_id):
    from app.extensions import db
    from models.system import Employee

    return db.session.execute(select(Employee.department_id).where(Employee.user_id == user_id)).scalar()


def department_tree_ids(root_id) -> list[int]:
    """The department and all its sub-departments (the tree is small: read once, walked in Python)."""
    from app.extensions import db
    from models.system import Department

    children: dict = {}
    for dept_id, parent_id in db.session.execute(select(Department.id, Department.parent_id)).all():
        children.setdefault(parent_id, []).append(dept_id)
    out, todo = [], [root_id]
    while todo:
        node = todo.pop()
        if node in out:
            continue
        out.append(node)
        todo.extend(children.get(node, []))
    return out


def compute_scope(user) -> UserScope:
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import assoc_user_role

    role_ids = [rid for (rid,) in db.session.execute(
        select(assoc_user_role.c.role_id).where(assoc_user_role.c.user_id == user.id)).all()]
    scope = widest(role_scopes(role_ids).values()) if role_ids else OWN
    if scope in (DEPARTMENT, DEPARTMENT_TREE):
        dept = user_department_id(user.id)
        if dept is None:
            return UserScope(user.id, OWN)
        ids = [dept] if scope == DEPARTMENT else department_tree_ids(dept)
        return UserScope(user.id, scope, ids)
    return UserScope(user.id, scope)


def scope_of(user=None) -> UserScope | None:
    """The scope of `user` (default: the user of the current request). None: no restriction (no request:
    CLI, day-end, a job without a user). A request without a logged-in user sees nothing."""
    if user is None:
        if not has_request_context():
            return None
        user = _request_user()
        if user is None:
            return UserScope(None, OWN)
    cache = g.setdefault("_data_scope", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = compute_scope(user)
    return cache[user.id]


# --- conditions ------------------------------------------------------------------------------------------

def condition_for(model, scope: UserScope | None, _depth: int = 0):
    """The boolean SQL condition restricting `model` to `scope`; None when nothing is restricted."""
    if scope is None or scope.scope == ALL or not is_scoped(model):
        return None
    parent = getattr(model, "__scope_parent__", None)
    if parent:
        if _depth > 8:
            raise RuntimeError(f"__scope_parent__ chain of {model.__name__} is too deep")
        relationship = inspect(model).relationships[parent]
        inner = condition_for(relationship.mapper.class_, scope, _depth + 1)
        attribute = getattr(model, parent)
        return attribute.has() if inner is None else attribute.has(inner)
    if scope.user_id is None:
        return false()
    own = _owner_column(model) == scope.user_id
    if scope.scope == OWN or not scope.department_ids:
        return own
    return or_(own, model.department_id.in_(scope.department_ids))


def scope_condition(model, user=None):
    """The condition for the current user (or `user`); None for "all" or an unscoped model."""
    if not is_scoped(model):
        return None
    return condition_for(model, scope_of(user))


def apply_scope(query, model, user=None):
    """Restrict a Query or a select() on `model` to what the current user (or `user`) may see."""
    condition = scope_condition(model, user)
    if condition is None:
        return query
    return query.where(condition) if isinstance(query, Select) else query.filter(condition)


def is_visible(obj, user=None) -> bool:
    model = type(obj)
    condition = scope_condition(model, user)
    if condition is None:
        return True
    from app.extensions import db

    pk_columns = inspect(model).primary_key
    identity = inspect(obj).identity or tuple(getattr(obj, c.key) for c in pk_columns)
    stmt = select(pk_columns[0]).where(*(c == v for c, v in zip(pk_columns, identity))).where(condition)
    return db.session.execute(stmt.limit(1)).first() is not None


def ensure_visible(obj, user=None):
    """Raise NotFound (404: an out-of-scope record is not told apart from a missing one) unless the current
    user may see `obj`. Returns obj."""
    if obj is None or not is_visible(obj, user):
        raise NotFound(gettext("The page or record does not exist."))
    return obj
