"""One Config for every environment; environment variables override the defaults."""
import os
import secrets
from datetime import timedelta

from flask_appbuilder.const import AUTH_DB

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.environ.get("INSTANCE_DIR", os.path.join(BASE_DIR, "instance"))
os.makedirs(INSTANCE_DIR, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept under instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = os.path.join(INSTANCE_DIR, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    with open(path) as fh:
        return fh.read().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(INSTANCE_DIR, "guarantee.db")
    # psycopg 3 is the driver; accept the plain postgres:// forms people paste.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    APP_NAME = "融资担保业务管理系统"
    APP_THEME = ""
    APP_ICON = ""
    SECRET_KEY = _secret_key()

    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    FAB_CREATE_DB = False  # Alembic owns the schema
    FAB_UPDATE_PERMS = False  # permissions are synced by `flask sync-roles` / run.py, never by workers racing
    FAB_SECURITY_MANAGER_CLASS = "app.security.GuaranteeSecurityManager"
    FAB_INDEX_VIEW = "views.home.HomeView"
    FAB_BASE_TEMPLATE = "base_layout.html"
    FAB_ADD_SECURITY_API = True
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 100
    FAB_SAFE_REDIRECT_HOSTS = ["127.0.0.1", "localhost"]

    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "系统管理员"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "30 per minute")
    FAB_PASSWORD_COMPLEXITY_ENABLED = True

    REDIS_URL = os.environ.get("REDIS_URL", "")
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"

    # CSRF: checked by our own before_request hook (see app/web_hooks.py) so that
    # bearer-token API calls are exempt while cookie-authenticated calls are not.
    WTF_CSRF_ENABLED = True
    WTF_CSRF_CHECK_DEFAULT = False
    WTF_CSRF_TIME_LIMIT = None

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=30)
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "app", "translations")
    LANGUAGES = {
        "zh": {"flag": "cn", "name": "中文"},
        "en": {"flag": "gb", "name": "English"},
    }

    # Celery: Redis when REDIS_URL is set, otherwise tasks run eagerly in-process.
    CELERY = {
        "broker_url": REDIS_URL or "memory://",
        "result_backend": REDIS_URL or "cache+memory://",
        "task_always_eager": not REDIS_URL,
        "task_eager_propagates": True,
        "task_ignore_result": False,
        "timezone": "Asia/Shanghai",
        "broker_connection_retry_on_startup": True,
    }

    # A rating batch still "running" this long after its start was orphaned by a worker that died; the next
    # batch discards it instead of waiting for ever (a full batch of 100,000 customers takes seconds).
    RATING_BATCH_STALE_MINUTES = int(os.environ.get("RATING_BATCH_STALE_MINUTES", "60"))

    EXPORT_DIR = os.path.join(INSTANCE_DIR, "exports")
    EXPORT_ASYNC_THRESHOLD = int(os.environ.get("EXPORT_ASYNC_THRESHOLD", "5000"))
    UPLOAD_FOLDER = os.path.join(INSTANCE_DIR, "uploads")
