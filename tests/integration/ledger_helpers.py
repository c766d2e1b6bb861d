"""Helpers of the ledger books/close tests: vouchers made, reviewed and posted through the ledger
service by two different people (maker: 财务会计, reviewer/poster: 财务复核), customers, periods.

The test database is shared by every test module, and a period close needs every earlier period
closed: each module keeps to its own years (worked example 1950 (the earliest: its year-opening balances
are zero), browser month-end 1955, books 1971, close 1981-1983,
properties from 1992) and closes what it opened before it ends.
"""
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app import permissions as P
from tests.conftest import ROLE_USERS, unique


def user(role):
    from app.extensions import appbuilder

    return appbuilder.sm.find_user(username=ROLE_USERS[role])


def customer(name):
    from app.extensions import db
    from models.customers import Customer

    c = Customer(code=unique("GL"), kind="corporate", name=name, id_type="USCC", id_number=unique("9131"))
    db.session.add(c)
    db.session.commit()
    return c.id


def department_id():
    from app.extensions import db
    from models.system import Department

    return db.session.execute(select(Department.id).order_by(Department.id).limit(1)).scalar()


def account_id(code):
    from app.extensions import db
    from models.ledger import Account

    return db.session.execute(select(Account.id).where(Account.code == code)).scalar_one()


def line(code, debit=0, credit=0, summary=None, **aux):
    return {"account_code": code, "debit": Decimal(str(debit)), "credit": Decimal(str(credit)), "summary": summary,
            **aux}


def post(day: date, lines, summary="测试凭证", voucher_type="ji", commit=True):
    """Make (accountant), review and post (finance reviewer; cashier signs where needed) one voucher."""
    from app.audit import reset_actor, set_actor
    from app.extensions import db
    from app.services import ledger as gl

    maker, checker, cashier = user(P.ACCOUNTANT), user(P.FINANCE_REVIEWER), user(P.CASHIER)
    token = set_actor(maker.id, maker.username)
    try:
        v = gl.create_voucher(day, lines, voucher_type=voucher_type, summary=summary, maker_id=maker.id)
        gl.review_voucher(v.id, checker.id)
        if gl.cashier_sign_required(v):
            gl.sign_voucher(v.id, cashier.id)
        gl.post_voucher(v.id, checker.id)
        if commit:
            db.session.commit()
        return v.id
    except Exception:
        db.session.rollback()
        raise
    finally:
        reset_actor(token)


def draft(day: date, lines, summary="草稿凭证"):
    from app.extensions import db
    from app.services import ledger as gl

    maker = user(P.ACCOUNTANT)
    v = gl.create_voucher(day, lines, summary=summary, maker_id=maker.id)
    db.session.commit()
    return v.id


def period(year, month):
    from app.services.ledger_close import period_by_ym

    return period_by_ym(year, month)


def close(year, month, role=P.ACCOUNTANT):
    from app.services.ledger_close import close_period

    return close_period(period(year, month).id, user(role))


def close_all_open(up_to_year):
    """Close every open period up to the end of `up_to_year`, oldest first (module teardown)."""
    from app.extensions import db
    from app.services.ledger_close import close_period
    from models.ledger import Period, Voucher

    db.session.rollback()
    for p in list(db.session.execute(select(Period).where(Period.status == "open", Period.year <= up_to_year)
                                     .order_by(Period.year, Period.month)).scalars()):
        for v in db.session.execute(select(Voucher).where(Voucher.period_id == p.id, Voucher.status != "posted")).scalars():
            from app.services import ledger as gl

            gl.delete_voucher(v.id)
        db.session.commit()
        close_period(p.id, user(P.ACCOUNTANT))


def set_setting(key, value):
    from app.extensions import db
    from app.services import settings

    settings.set_value(key, value)
    db.session.commit()
