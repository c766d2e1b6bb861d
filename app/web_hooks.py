"""Per-request hooks: login required by default, CSRF for cookie sessions, idle timeout, who acts (operation log)."""
import time

from flask import abort, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_babel import gettext
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError

from app import audit
from app.extensions import csrf
from app.services import login_policy, settings

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
API_LOGIN_PATHS = {"/api/v1/security/login", "/api/v1/security/refresh"}


def _bearer_user():
    """The user of a valid bearer token on an API request, else None.

    Only a token that verifies counts: a made-up `Authorization: Bearer x` header next to a session
    cookie must neither skip the CSRF check nor the idle timeout of that cookie session.
    """
    if "_bearer_user" in g:
        return g._bearer_user
    user = None
    if request.path.startswith("/api/") and request.headers.get("Authorization", "").startswith("Bearer "):
        try:
            verify_jwt_in_request(optional=True)
            user = get_current_user()
        except Exception:  # invalid, expired or revoked token: the API itself answers 401
            user = None
    g._bearer_user = user
    return user


def _view_by_endpoint(blueprint: str):
    from app.extensions import appbuilder

    for view in appbuilder.baseviews:
        if getattr(view, "endpoint", None) == blueprint:
            return view
    return None


def _public_endpoints() -> frozenset:
    """The endpoints a visitor may reach before logging in."""
    from flask import current_app

    cached = current_app.extensions.get("guarantee_public_endpoints")
    if cached is None:
        from flask_appbuilder.security.api import SecurityApi

        from app.extensions import appbuilder

        auth = appbuilder.sm.auth_view.endpoint
        index = appbuilder.indexview
        index = getattr(index, "endpoint", None) or (index.__name__ if isinstance(index, type) else type(index).__name__)
        names = {f"{auth}.login", f"{auth}.logout", "LocaleView.index", f"{index}.index"}
        for view in appbuilder.baseviews:
            if isinstance(view, SecurityApi):
                names.update({f"{view.endpoint}.login", f"{view.endpoint}.refresh"})
        cached = current_app.extensions["guarantee_public_endpoints"] = frozenset(names)
    return cached


def require_login():
    """Default deny: every endpoint except the login and logout pages, the language switch, static files
    and the API login needs a logged-in user (a browser session or a valid bearer token), whatever the
    view's own decorators say. Screens send the visitor to the login form, the API answers 401."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static" or endpoint.endswith(".static") or endpoint in _public_endpoints():
        return None
    if getattr(current_app.view_functions.get(endpoint), "public_endpoint", False):
        return None  # marked by its module (the online portal's login and registration, views/portal.py)
    if current_user.is_authenticated:
        return None
    if request.path.startswith("/api/"):
        if _bearer_user() is not None:
            return None
        return jsonify(message=gettext("Please log in.")), 401
    if request.method == "GET":
        return redirect(url_for(_login_endpoint(), next=request.full_path.rstrip("?")))
    return redirect(url_for(_login_endpoint()))


def check_action_name():
    """FAB's action endpoints look the action up without checking it exists: an unknown name is a 404
    (a missing one on the list form a 400), not a server error."""
    endpoint = request.endpoint or ""
    blueprint, _, method = endpoint.rpartition(".")
    if method not in ("action", "action_post"):
        return
    view = _view_by_endpoint(blueprint)
    actions = getattr(view, "actions", None) or {}
    if method == "action" and (request.view_args or {}).get("name") not in actions:
        abort(404)
    if method == "action_post" and request.form.get("action") not in actions:
        abort(400)


def check_csrf():
    """Every state-changing request from a browser session carries a CSRF token.

    Exempt: calls authenticated by a valid bearer token (a browser never adds the header by itself),
    the API login, and API calls without any session (the API refuses them with 401 anyway).
    """
    if request.method not in UNSAFE:
        return
    if request.path.startswith("/api/"):
        if request.path in API_LOGIN_PATHS or _bearer_user() is not None:
            return
        if not current_user.is_authenticated:
            return
    csrf.protect()


def set_actor():
    user = _bearer_user() or getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        g._actor_token = audit.set_actor(user.id, user.username)
    else:
        g._actor_token = audit.set_actor(None, "anonymous")


def reset_actor(exc=None):
    token = g.pop("_actor_token", None)
    if token is not None:
        audit.reset_actor(token)


def enforce_idle_timeout():
    """Log out a browser session idle for longer than the configured timeout."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False) or _bearer_user() is not None:
        return
    if request.endpoint == "static" or (request.endpoint or "").startswith("appbuilder."):
        return
    now = int(time.time())
    last = session.get("_last_seen")
    timeout = settings.get("session_timeout_minutes") * 60
    if last is not None and now - last > timeout:
        login_policy.record(user.username, "timeout", user_id=user.id, ip=request.remote_addr,
                            user_agent=request.headers.get("User-Agent"),
                            channel="api" if request.path.startswith("/api/") else "web")
        logout_user()
        session.pop("_last_seen", None)
        g.user = None
        if request.path.startswith("/api/"):
            abort(401)
        flash(gettext("Your session timed out. Please log in again."), "warning")
        login = _login_endpoint()
        if request.method == "GET":
            return redirect(url_for(login, next=request.full_path.rstrip("?")))
        return redirect(url_for(login))
    session["_last_seen"] = now


def _login_endpoint() -> str:
    from app.extensions import appbuilder

    if request.blueprint == "portal":
        return "portal.login"  # enterprise users log in on the portal's own page

    return appbuilder.sm.auth_view.endpoint + ".login"


def csrf_error(exc: CSRFError):
    message = gettext("The form has expired or was not sent from this site. Please reload the page and try again.")
    if request.path.startswith("/api/"):
        return jsonify(message=message), 400
    flash(message, "danger")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url) else "/")


def register(app):
    app.before_request(require_login)
    app.before_request(check_csrf)
    app.before_request(enforce_idle_timeout)
    app.before_request(check_action_name)
    app.before_request(set_actor)
    app.teardown_request(reset_actor)
    app.register_error_handler(CSRFError, csrf_error)
