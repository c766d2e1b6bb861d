"""Helpers shared by the data-layer integration tests (operation log, numbering, day-end, export, forms)."""
import html
import itertools
import random
import re
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import func, select
from stdnum.cn import ric, uscc

from app.extensions import db

# Text of the database, its driver or Python internals: none of it may ever reach a page.
DRIVER_TEXT = ("IntegrityError", "UNIQUE constraint", "unique constraint", "psycopg", "sqlite3", "Traceback",
               "OperationalError", "DataError", "ProgrammingError", "StatementError", "sqlalchemy", "SQL:",
               "duplicate key", "violates", "DETAIL:", "NOT NULL constraint", "value too long",
               "invalid input syntax", "(Background on this error")


def assert_no_driver_text(text: str) -> None:
    leaked = [t for t in DRIVER_TEXT if t in text]
    assert not leaked, f"database/driver text reached the page: {leaked}"


def assert_message(text: str, *candidates: str) -> None:
    """One of the candidate messages (English msgid or its Chinese translation) is on the page."""
    text = html.unescape(text)
    shown = [" ".join(re.sub(r"<[^>]+>", " ", m).split()) for m in re.findall(
        r'(?s)class="(?:alert[^"]*|help-block[^"]*)"[^>]*>(.*?)</(?:div|span)>', text)]
    assert any(c in text for c in candidates), f"none of {candidates!r} on the page; it says {shown!r}"


def msg(app, msgid: str, **kwargs) -> tuple[str, str]:
    """A message as the English msgid and as the Chinese catalogue renders it (same if untranslated)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context():
        with force_locale("zh"):
            chinese = gettext(msgid, **kwargs)
        with force_locale("en"):
            english = gettext(msgid, **kwargs)
    return english, chinese


_REGIONS = ("110101", "110105", "110108", "310101", "310104", "320102", "330102", "440103", "440303", "510104")
_ric_counter = itertools.count(random.randrange(0, 5000))


def make_ric(birth: date = date(1990, 1, 1), male: bool = True, region: str | None = None) -> str:
    """A valid resident ID (check digit computed) for the given birth date and gender, unique in this run."""
    n = next(_ric_counter)
    region = region or _REGIONS[(n // 500) % len(_REGIONS)]
    seq = (n % 500) * 2 + (1 if male else 0)  # the 17th digit is odd for men, even for women
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # the function skips the last (check) position


def make_uscc() -> str:
    """A valid unified social credit code (random organisation code, correct check characters)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for _ in range(1000):
        org = "".join(random.choice("0123456789") for _ in range(8))
        # the organisation code's own check digit (GB 11714)
        weights = [3, 7, 9, 10, 5, 8, 4, 2]
        check = 11 - sum(int(c) * w for c, w in zip(org, weights)) % 11
        org_check = {10: "X", 11: "0"}.get(check, str(check))
        if org_check not in alphabet:
            continue
        body = "91110000" + org + org_check
        code = body + uscc.calc_check_digit(body + "0")
        if uscc.is_valid(code):
            return code
    raise AssertionError("could not build a valid USCC")


def customer_form(**overrides) -> dict:
    """A complete, valid individual-customer form (strings, as a browser posts them)."""
    data = {
        "kind": "individual", "name": "张三", "id_type": "RIC", "id_number": make_ric(), "gender": "",
        "birth_date": "", "phone": "13800138000", "email": "", "region_code": "110000", "industry_code": "",
        "address": "北京市东城区", "legal_representative": "", "registered_capital": "", "direct": "direct",
        "manager": "",
    }
    data.update(overrides)
    return data


class Store:
    """Database reads and writes for tests that also send requests.

    Each call runs in its own short app context. Tests that hold an app context open (the `db`
    fixture) while the test client sends requests share `g` and the session with those requests:
    Flask-Login's cached user then leaks from one client to the next, and the requests see the
    test's uncommitted state. Loaded objects come back detached with their attributes loaded.
    """

    def __init__(self, app):
        self.app = app

    @contextmanager
    def session(self):
        with self.app.app_context():
            yield db.session  # closed (not expired) when the context ends

    def scalar(self, stmt):
        with self.session() as session:
            return session.execute(stmt).scalar()

    def one(self, stmt):
        with self.session() as session:
            return session.execute(stmt).scalar_one()

    def all(self, stmt):
        with self.session() as session:
            return session.execute(stmt).scalars().all()

    def get(self, model, pk):
        with self.session() as session:
            return session.get(model, pk)

    def count(self, model, *where) -> int:
        return self.scalar(select(func.count()).select_from(model).where(*where))

    def add(self, *objects):
        """Insert and commit; returns the new primary keys."""
        with self.session() as session:
            session.add_all(objects)
            session.commit()
            return [o.id for o in objects]


@pytest.fixture
def store(app):
    return Store(app)


@pytest.fixture(scope="module")
def admin_client(app):
    """One administrator session for a whole module (logging in costs a password hash per test)."""
    from app import permissions as P
    from tests.conftest import ROLE_USERS, WebClient

    client = WebClient(app)
    response = client.login(ROLE_USERS[P.ADMIN])
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    return client
