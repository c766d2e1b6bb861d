"""Per-request hooks: who acts (for the operation log), CSRF for cookie sessions, idle timeout."""
import time

from flask import abort, flash, g, jsonify, redirect, request, session
from flask_babel import gettext
from flask_login import logout_user
from flask_wtf.csrf import CSRFError

from app import audit
from app.extensions import csrf
from app.services import login_policy, settings

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
API_LOGIN_PATHS = {"/api/v1/security/login", "/api/v1/security/refresh"}


def _bearer_request() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ")


def check_csrf():
    """Every state-changing request from a browser session carries a CSRF token.

    Bearer-token API calls are not exposed to CSRF (a browser never adds the header by itself).
    """
    if request.method not in UNSAFE:
        return
    if request.path.startswith("/api/") and (_bearer_request() or request.path in API_LOGIN_PATHS):
        return
    csrf.protect()


def set_actor():
    user = getattr(g, "user", None)
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
    if user is None or not getattr(user, "is_authenticated", False) or _bearer_request():
        return
    if request.endpoint == "static" or (request.endpoint or "").startswith("appbuilder."):
        return
    now = int(time.time())
    last = session.get("_last_seen")
    timeout = settings.get("session_timeout_minutes") * 60
    if last is not None and now - last > timeout:
        login_policy.record(user.username, "timeout", user_id=user.id, ip=request.remote_addr,
                            user_agent=request.headers.get("User-Agent"))
        logout_user()
        session.pop("_last_seen", None)
        g.user = None
        if request.path.startswith("/api/"):
            abort(401)
        flash(gettext("Your session timed out. Please log in again."), "warning")
        return redirect("/login/?next=" + request.full_path if request.method == "GET" else "/login/")
    session["_last_seen"] = now


def csrf_error(exc: CSRFError):
    message = gettext("The form has expired or was not sent from this site. Please reload the page and try again.")
    if request.path.startswith("/api/"):
        return jsonify(message=message), 400
    flash(message, "danger")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url) else "/")


def register(app):
    app.before_request(check_csrf)
    app.before_request(set_actor)
    app.before_request(enforce_idle_timeout)
    app.teardown_request(reset_actor)
    app.register_error_handler(CSRFError, csrf_error)
