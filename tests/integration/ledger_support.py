"""Helpers shared by the ledger tests (GL-1/2/3/7): users per finance role, fresh periods, voucher lines."""
import itertools
from contextlib import contextmanager
import random
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app import permissions as P
from tests.conftest import ROLE_USERS

# every test takes its own year, so numbering and period checks never meet another test's vouchers
_years = itertools.count(random.Random().randrange(3000, 8000, 50))


def fresh_day(month=1, day=15) -> date:
    return date(next(_years), month, day)


def user_id(app, role) -> int:
    return app.appbuilder.sm.find_user(username=ROLE_USERS[role]).id


def users(app) -> dict:
    return {"maker": user_id(app, P.ACCOUNTANT), "reviewer": user_id(app, P.FINANCE_REVIEWER),
            "cashier": user_id(app, P.CASHIER), "admin": user_id(app, P.ADMIN)}


def account_ids(db) -> dict:
    from models.ledger import Account

    return dict(db.session.execute(select(Account.code, Account.id)).all())


def plain_lines(accounts, amount="100.00", summary="测试凭证"):
    """Dr 122102 其他应收款-其他 / Cr 6051 其他业务收入: no cash, no auxiliary values."""
    return [{"account_id": accounts["122102"], "summary": summary, "debit": amount},
            {"account_id": accounts["6051"], "summary": summary, "credit": amount}]


def cash_lines(accounts, amount="100.00", summary="收到款项"):
    """Dr 1002 银行存款 (bank account required) / Cr 6051."""
    return [{"account_id": accounts["1002"], "summary": summary, "debit": amount, "bank_account": "工行123"},
            {"account_id": accounts["6051"], "summary": summary, "credit": amount}]


def set_period_status(db, day, status):
    """Stand-in for the month-end close (issue 5's other half owns it): open or close a period."""
    from app.services import ledger

    period = ledger.ensure_period(day)
    period.status = status
    db.session.commit()
    return period


def make_posted(db, app, day, lines=None, voucher_type="ji"):
    from app.services import ledger

    u = users(app)
    voucher = ledger.create_voucher(day, lines or plain_lines(account_ids(db)), voucher_type=voucher_type,
                                    maker_id=u["maker"])
    ledger.review_voucher(voucher.id, u["reviewer"])
    if ledger.cashier_sign_required(voucher):
        ledger.sign_voucher(voucher.id, u["cashier"])
    ledger.post_voucher(voucher.id, u["reviewer"])
    db.session.commit()
    return voucher


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@contextmanager
def refused(kind, *fragments):
    """The block raises `kind` with a message holding one of `fragments` (English msgid or Chinese catalogue)."""
    import pytest

    with pytest.raises(kind) as err:
        yield err
    assert any(f in err.value.message for f in fragments), err.value.message
