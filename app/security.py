"""Security manager: lockout, login log, login rate limit, and the hooks FAB leaves to the application."""
import time

from flask import current_app, g, has_request_context, jsonify, request, session
from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import User
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.security.views import RoleModelView as FabRoleModelView
from flask_appbuilder.security.views import UserDBModelView as FabUserDBModelView
from flask_babel import gettext

from app.services import login_policy
from views import api_support

# Changes to users (active flag, names, roles' owner) belong in the operation log too.
User.__audited__ = True


def _display_name(user) -> str:
    """Chinese names are written without a space (张经理); Latin ones keep it."""
    first, last = user.first_name or "", user.last_name or ""
    cjk = any("\u4e00" <= ch <= "\u9fff" for ch in first + last)
    return f"{first}{last}" if cjk else f"{first} {last}".strip()


User.__repr__ = User.__str__ = _display_name


def _client():
    if not has_request_context():
        return None, None, "cli"
    channel = "api" if request.path.startswith("/api/") else "web"
    return request.remote_addr, request.headers.get("User-Agent"), channel


def lock_message(until) -> str:
    return gettext("Too many failed logins: the account is locked until %(time)s.", time=until.strftime("%H:%M"))


def _current_auth_rate_limit() -> str:
    # Read on every request, so a changed AUTH_RATE_LIMIT applies without re-registering the limit.
    return current_app.config["AUTH_RATE_LIMIT"]


class GuaranteeSecurityApi(SecurityApi):
    """FAB's security API whose refused logins say why (locked, or wrong name/password), translated."""

    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        response = super().login()
        if response.status_code != 401:
            return response
        until = g.pop("login_locked_until", None)
        # FAB's own login-form message (translated by FAB's catalogue) when the account is not locked.
        message = lock_message(until) if until else str(FabAuthDBView.invalid_login_message)
        return jsonify(message=message), 401


class AuthDBView(FabAuthDBView):
    """FAB's login form (same name, so its endpoints stay `AuthDBView.*`): a refused login of a locked
    account says until when, instead of FAB's "Invalid login"."""

    @property
    def invalid_login_message(self):
        until = g.get("login_locked_until")
        return lock_message(until) if until else FabAuthDBView.invalid_login_message


class UserDBModelView(FabUserDBModelView):
    """FAB's user screen (same name: same endpoints and permissions) with the role guard rails of issue 11:
    the last administrator keeps the administrator role and is not deleted (role changes are logged by
    app/services/role_admin.py's session hooks, which also guard the REST API)."""

    def pre_update(self, item):
        from app.extensions import db
        from app.services import role_admin

        super().pre_update(item)
        role_admin.check_administrators(db.session)

    def pre_delete(self, item):
        from app.services import role_admin

        super().pre_delete(item)
        role_admin.refuse_last_admin_removal(item)


class RoleModelView(FabRoleModelView):
    """FAB's role screen (same name): a role users hold is not deleted (issue 11)."""

    def pre_delete(self, item):
        from app.services import role_admin

        super().pre_delete(item)
        role_admin.refuse_held_role_deletion(item)


class GuaranteeSecurityManager(SecurityManager):
    security_api = GuaranteeSecurityApi
    authdbview = AuthDBView
    userdbmodelview, rolemodelview = UserDBModelView, RoleModelView  # issue 11 guard rails
    # FAB's user/role/permission REST APIs with the project's input checks and translated errors.
    user_api, role_api, group_api = api_support.UserApi, api_support.RoleApi, api_support.GroupApi
    permission_api, view_menu_api = api_support.PermissionApi, api_support.ViewMenuApi
    permission_view_menu_api = api_support.PermissionViewMenuApi
    # FAB's "User's Statistics" chart loads Google Charts from the internet (DESIGN: no outside assets).
    userstatschartview = None

    @property
    def auth_rate_limit(self):
        return _current_auth_rate_limit

    def register_views(self):
        super().register_views()
        # FAB limits the login form only; the API login must not be an unlimited way around it.
        if self.is_auth_limited:
            for view in self.appbuilder.baseviews:
                if isinstance(view, GuaranteeSecurityApi) and view.blueprint is not None:
                    self.limiter.limit(self.auth_rate_limit, methods=["POST"])(view.blueprint)

    def create_jwt_manager(self, app):
        jwt_manager = super().create_jwt_manager(app)

        def unauthorized(*_args):
            return jsonify(message=gettext("Please log in.")), 401

        def expired(*_args):
            return jsonify(message=gettext("Your session timed out. Please log in again.")), 401

        jwt_manager.unauthorized_loader(unauthorized)
        jwt_manager.invalid_token_loader(unauthorized)
        jwt_manager.user_lookup_error_loader(unauthorized)
        jwt_manager.expired_token_loader(expired)
        return jwt_manager

    # --- permission checks: one query per request instead of one per menu entry and button ----------

    def _role_pairs(self, role_ids) -> frozenset:
        """(permission, view menu) pairs of the given roles, read once per request.

        FAB asks the database once for every has_access() (a page with its menu asks 20–30 times);
        a role changed by the administrator applies from the next request on.
        """
        from flask_appbuilder.security.sqla.models import (
            Permission, PermissionView, ViewMenu, assoc_permissionview_role,
        )

        key = tuple(sorted(role_ids))
        cache = g.setdefault("_role_pairs", {}) if has_request_context() else {}
        if key not in cache:
            rows = (
                self.session.query(Permission.name, ViewMenu.name)
                .select_from(PermissionView)
                .join(Permission, PermissionView.permission_id == Permission.id)
                .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
                .join(assoc_permissionview_role, assoc_permissionview_role.c.permission_view_id == PermissionView.id)
                .filter(assoc_permissionview_role.c.role_id.in_(key))
                .all()
            )
            cache[key] = frozenset((perm, view) for perm, view in rows)
        return cache[key]

    def exist_permission_on_roles(self, view_name, permission_name, role_ids) -> bool:
        return (permission_name, view_name) in self._role_pairs(role_ids)

    def _login_name(self, username: str) -> str:
        """The name failures are counted under: the account's user name when the login names an
        account (by user name or e-mail, any case), else what was typed."""
        user = self.find_user(username=username) or self.find_user(email=username)
        return user.username if user is not None else username

    def auth_user_db(self, username, password):
        ip, agent, channel = _client()
        name = self._login_name(username) if username else username
        if name:
            until = login_policy.locked_until(name)
            if until is not None:
                login_policy.record(name, "locked", ip=ip, user_agent=agent, channel=channel)
                if has_request_context():
                    g.login_locked_until = until  # the login form and the API login say so
                return None
        user = super().auth_user_db(username, password)
        if user is None and name:
            login_policy.record(name, "failed", ip=ip, user_agent=agent, channel=channel)
        return user

    def on_user_login(self, user) -> None:
        ip, agent, channel = _client()
        login_policy.record(user.username, "login", user_id=user.id, ip=ip, user_agent=agent, channel=channel)
        if channel == "web":
            # A fresh login starts the idle clock afresh (a cookie may still hold an old value).
            session["_last_seen"] = int(time.time())

    def on_user_logout(self, user) -> None:
        ip, agent, channel = _client()
        login_policy.record(user.username, "logout", user_id=user.id, ip=ip, user_agent=agent, channel=channel)
        if has_request_context():
            session.pop("_last_seen", None)
