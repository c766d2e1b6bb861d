"""What every start does: migrate, sync roles, load reference data, make sure the admin exists."""
import os
import secrets

from flask import current_app
from flask_migrate import upgrade

from app import permissions as P


def migrate_database() -> None:
    # "heads": a domain may ship its own branch until a merge revision joins it (0008, 0017 did).
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")


def ensure_admin(appbuilder) -> str | None:
    """Create `admin` on first start. Returns the generated password when one was generated."""
    sm = appbuilder.sm
    if sm.find_user(username="admin") is not None:
        return None
    password = os.environ.get("ADMIN_PASSWORD")
    generated = None
    if password:
        from flask_appbuilder.exceptions import PasswordComplexityValidationError

        from app.services.login_policy import check_password_complexity

        try:
            check_password_complexity(password)  # the same policy a user's own password meets
        except PasswordComplexityValidationError as ex:
            raise SystemExit(f"ADMIN_PASSWORD is too weak: {ex}") from None
    else:
        generated = password = secrets.token_urlsafe(9) + "A1!"
    role = sm.find_role(P.ADMIN)
    user = sm.add_user("admin", "系统", "管理员", "admin@localhost", [role], password)
    if not user:
        raise RuntimeError("could not create the admin user")
    return generated


def bootstrap(appbuilder, migrate: bool = True) -> str | None:
    from app.services.reference import load_reference_data
    from app.services.roles import sync_roles

    if migrate:
        migrate_database()
    sync_roles(appbuilder)
    load_reference_data()
    return ensure_admin(appbuilder)
