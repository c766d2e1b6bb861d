"""Security manager: lockout, login log, and the hooks FAB leaves to the application."""
from flask import flash, has_request_context, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext

from app.services import login_policy

# Changes to users (active flag, names, roles' owner) belong in the operation log too.
User.__audited__ = True


def _client():
    if not has_request_context():
        return None, None, "cli"
    channel = "api" if request.path.startswith("/api/") else "web"
    return request.remote_addr, request.headers.get("User-Agent"), channel


class GuaranteeSecurityManager(SecurityManager):
    def auth_user_db(self, username, password):
        ip, agent, channel = _client()
        if username:
            until = login_policy.locked_until(username)
            if until is not None:
                login_policy.record(username, "locked", ip=ip, user_agent=agent, channel=channel)
                if channel == "web":
                    flash(
                        gettext(
                            "Too many failed logins: the account is locked until %(time)s.",
                            time=until.strftime("%H:%M"),
                        ),
                        "danger",
                    )
                return None
        user = super().auth_user_db(username, password)
        if user is None and username:
            login_policy.record(username, "failed", ip=ip, user_agent=agent, channel=channel)
        return user

    def on_user_login(self, user) -> None:
        ip, agent, channel = _client()
        login_policy.record(user.username, "login", user_id=user.id, ip=ip, user_agent=agent, channel=channel)

    def on_user_logout(self, user) -> None:
        ip, agent, channel = _client()
        login_policy.record(user.username, "logout", user_id=user.id, ip=ip, user_agent=agent, channel=channel)
