"""Month-end close (期末处理): refusals, atomicity, idempotence, reopen rules, year end, the screens.
Years 1981-1983 (see ledger_helpers)."""
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app import permissions as P
from app.errors import Conflict, Forbidden, ValidationError
from tests.integration import ledger_helpers as H


@pytest.fixture(scope="module")
def ledger(app):
    with app.app_context():
        H.set_setting("gl_guarantee_balance", D("1000000.00"))
        H.set_setting("gl_guarantee_balance_account", "")
        cust = H.customer("丙担保客户")
        yield {"customer": cust}
        H.close_all_open(1983)


def fee(day, amount, cust):
    return H.post(day, [H.line("1002", amount, bank_account="建行 001"),
                        H.line("6001", credit=amount, customer_id=cust, project_code="P1981")], "收担保费", "shou")


def _vouchers(db, period, source=None):
    from models.ledger import Voucher

    q = select(Voucher).where(Voucher.period_id == period.id).order_by(Voucher.id)  # in the order made
    if source:
        q = q.where(Voucher.source == source)
    return list(db.session.execute(q).scalars())


def _net(db, code, period):
    from models.ledger import Account, VoucherLine as L

    return db.session.execute(select(func.coalesce(func.sum(L.debit - L.credit), 0)).join(
        Account, Account.id == L.account_id).where(Account.code.startswith(code), L.period_id == period.id,
                                                   L.posted.is_(True))).scalar()


def test_refuses_unposted_vouchers_with_their_list(db, ledger):
    fee(date(1981, 1, 5), D("1000.00"), ledger["customer"])
    draft = H.draft(date(1981, 1, 6), [H.line("660202", 10, department_id=H.department_id()),
                                       H.line("1002", credit=10, bank_account="建行 001")])
    with pytest.raises(ValidationError) as ex:
        H.close(1981, 1)
    assert "unposted" in ex.value.message or "未记账" in ex.value.message
    assert "ji-1" in ex.value.message or "-1" in ex.value.message
    period = H.period(1981, 1)
    db.session.refresh(period)
    assert period.status == "open" and not _vouchers(db, period, "accrual")
    from app.services import ledger as gl

    gl.delete_voucher(draft)
    db.session.commit()


def test_previous_period_must_be_closed(db, ledger):
    fee(date(1981, 2, 3), D("2000.00"), ledger["customer"])
    with pytest.raises(ValidationError) as ex:
        H.close(1981, 2)
    assert "1981-01" in ex.value.message


def test_close_is_atomic(db, ledger, monkeypatch):
    from app.services import ledger_close

    def boom(period, user):
        raise RuntimeError("killed half-way")

    steps = tuple((p, boom if s is ledger_close.carry_forward_profit_loss else s) for p, s in ledger_close.STEPS)
    monkeypatch.setattr(ledger_close, "STEPS", steps)
    with pytest.raises(RuntimeError):
        H.close(1981, 1)
    period = H.period(1981, 1)
    db.session.refresh(period)
    assert period.status == "open"
    assert _vouchers(db, period, "accrual") == []  # the accruals made before the failure are gone too


def test_close_posts_accruals_and_carry_forward_once(db, ledger):
    result = H.close(1981, 1)
    period = H.period(1981, 1)
    db.session.refresh(period)
    assert period.status == "closed" and period.closed_by_id == H.user(P.ACCOUNTANT).id
    accruals = _vouchers(db, period, "accrual")
    assert sorted(v.total_debit for v in accruals) == [D("500.00"), D("10000.00")]  # 50% of 1,000; 1% of 1,000,000
    assert len(_vouchers(db, period, "carry_forward")) == 1
    for code in ("6001", "6501", "6502"):
        assert _net(db, code, period) == 0  # every profit-and-loss account carried forward
    assert _net(db, "4103", period) == D("9500.00")  # a loss: 1,000 − 500 − 10,000
    assert len(result.vouchers) == 3
    again = H.close(1981, 1)
    assert again.already_closed and len(_vouchers(db, period)) == 4  # fee + 2 accruals + carry forward


def test_posting_into_a_closed_period_is_refused(db, ledger):
    with pytest.raises(ValidationError) as ex:
        fee(date(1981, 1, 20), D("1.00"), ledger["customer"])
    assert "1981-01" in ex.value.message


def test_compensation_reserve_is_a_year_to_date_target(db, ledger):
    H.set_setting("gl_guarantee_balance", D("1500000.00"))
    H.close(1981, 2)
    period = H.period(1981, 2)
    amounts = sorted(v.total_debit for v in _vouchers(db, period, "accrual"))
    assert amounts == [D("1000.00"), D("5000.00")]  # 50% of 2,000; 1% × 1,500,000 − 10,000 accrued in January


def test_reopen_rules(db, ledger):
    from app.services.ledger_close import reopen_period
    from models.ledger import CloseRun

    jan, feb = H.period(1981, 1), H.period(1981, 2)
    with pytest.raises(ValidationError) as ex:  # not the latest closed period
        reopen_period(jan.id, H.user(P.FINANCE_REVIEWER), "调整一月")
    assert "1981-02" in ex.value.message
    with pytest.raises(ValidationError):  # no reason
        reopen_period(feb.id, H.user(P.FINANCE_REVIEWER), "  ")
    with pytest.raises(Forbidden):  # the accountant who closes may not reopen
        reopen_period(feb.id, H.user(P.ACCOUNTANT), "调整二月")
    run = reopen_period(feb.id, H.user(P.GENERAL_MANAGER), "补记二月担保费")
    db.session.refresh(feb)
    assert feb.status == "open" and run.reason == "补记二月担保费" and run.action == "reopen"
    assert db.session.get(CloseRun, run.id).status == "done"
    with pytest.raises(Conflict):
        reopen_period(feb.id, H.user(P.FINANCE_REVIEWER), "再次")
    from models.system import OperationLog

    logged = db.session.execute(select(func.count()).select_from(OperationLog).where(
        OperationLog.record_id == str(feb.id))).scalar()
    assert logged >= 1


def test_close_after_reopen_posts_only_the_remainder(db, ledger):
    feb = H.period(1981, 2)
    before = {v.id for v in _vouchers(db, feb)}
    fee(date(1981, 2, 27), D("600.00"), ledger["customer"])
    H.close(1981, 2)
    new = [v for v in _vouchers(db, feb) if v.id not in before]
    accruals = [v for v in new if v.source == "accrual"]
    assert [v.total_debit for v in accruals] == [D("300.00")]  # 50% of the new 600; the reserve target is met
    assert [v.source for v in new if v.source != "accrual"] == ["manual", "carry_forward"]
    for code in ("6001", "6501", "6502"):
        assert _net(db, code, feb) == 0


def test_year_end_carries_the_years_profit(db, ledger):
    from app.services.ledger_books import trial_balance

    H.set_setting("gl_guarantee_balance", D("0"))  # target below what was accrued: a red-letter release
    earlier = {r.code: r for r in trial_balance((1981, 1), level=1) if r.kind == "account"}
    residue = -earlier["4103"].opening if "4103" in earlier else D("0")  # 本年利润 other tests left in earlier years
    fee(date(1981, 12, 10), D("100000.00"), ledger["customer"])
    result = H.close(1981, 12)
    dec = H.period(1981, 12)
    year_end = _vouchers(db, dec, "year_end")
    assert len(year_end) == 1 and year_end[0].id in result.vouchers
    tb = {r.code: r for r in trial_balance((1981, 12), level=2) if r.kind == "account"}
    assert tb["4103"].closing == 0
    # the year: fees 1,000 + 2,000 + 600 + 100,000 = 103,600; unearned 50% = 51,800; compensation reserve
    # 10,000 + 5,000 − 15,000 (released in December: target 0) = 0 → profit 51,800 to undistributed profit
    assert tb["410401"].credit == D("51800.00") + residue


def test_close_screen_with_progress_and_permissions(db, ledger, login_as):
    fee(date(1982, 1, 10), D("100.00"), ledger["customer"])
    jan = H.period(1982, 1)
    accountant = login_as(P.ACCOUNTANT)
    page = accountant.get("/periodclose/")
    assert page.status_code == 200 and "1982-01" in page.get_data(as_text=True)
    token = accountant.csrf("/periodclose/")
    response = accountant.post_form(f"/periodclose/close/{jan.id}", {}, form_page="/periodclose/")
    assert response.status_code == 302 and "/periodclose/progress/" in response.headers["Location"]
    run_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert accountant.get(f"/periodclose/progress/{run_id}").status_code == 200
    status = accountant.get(f"/periodclose/status/{run_id}").get_json()
    assert status["status"] == "done" and status["progress"] == 100
    db.session.refresh(jan)
    assert jan.status == "closed"

    reviewer = login_as(P.FINANCE_REVIEWER)
    assert reviewer.post_form(f"/periodclose/close/{jan.id}", {}, form_page="/periodclose/").status_code == 403
    refused = accountant.post(f"/periodreopen/reopen/{jan.id}", data={"reason": "试试", "csrf_token": token})
    assert refused.status_code == 403
    ok = reviewer.post_form(f"/periodreopen/reopen/{jan.id}", {"reason": "更正一月"}, form_page="/periodclose/",
                            follow_redirects=True)
    assert ok.status_code == 200
    db.session.refresh(jan)
    assert jan.status == "open"


def test_close_screen_refusal_is_shown(db, ledger, login_as):
    fee(date(1982, 2, 10), D("100.00"), ledger["customer"])
    feb = H.period(1982, 2)
    accountant = login_as(P.ACCOUNTANT)
    page = accountant.post_form(f"/periodclose/close/{feb.id}", {}, form_page="/periodclose/", follow_redirects=True)
    assert page.status_code == 200 and "1982-01" in page.get_data(as_text=True)  # close January first
    db.session.refresh(feb)
    assert feb.status == "open"


def test_auditor_reads_but_cannot_close(db, ledger, login_as):
    auditor = login_as(P.AUDITOR)
    assert auditor.get("/periodclose/").status_code == 200
    jan = H.period(1982, 1)
    assert auditor.post_form(f"/periodclose/close/{jan.id}", {}, form_page="/resetmypassword/form").status_code == 403


def test_guarantee_balance_comes_from_the_guarantees_in_force(db):
    """With no balance account and no fixed amount, the compensation reserve's base is the outstanding balance
    of the guarantees in force whose loans were confirmed by the period end."""
    from types import SimpleNamespace

    from app.services import ledger_close, settings
    from models.business import Guarantee
    from tests.conftest import unique
    from tests.integration.test_guarantees_support import make_bank, make_customer, make_product

    customer, product, bank = make_customer(db), make_product(db), make_bank(db)

    def guarantee(stage, status, loan_date, balance):
        db.session.add(Guarantee(code=unique("GLB"), customer_id=customer.id, product_id=product.id,
                                 bank_id=bank.id, amount=balance, term_months=12, fee_rate=D("0.02"), stage=stage,
                                 status=status, loan_date=loan_date, balance=balance))

    guarantee("in_force", "active", date(1979, 6, 1), D("2000000.00"))
    guarantee("in_force", "active", date(1979, 12, 31), D("500000.00"))
    guarantee("in_force", "active", date(1980, 1, 2), D("700000.00"))  # loaned after the period end
    guarantee("in_force", "rejected", date(1979, 3, 1), D("900000.00"))
    guarantee("loan_notice", "active", None, D("800000.00"))
    db.session.flush()
    december = SimpleNamespace(end_date=date(1979, 12, 31))
    try:  # nothing here is committed: the rows and settings go with the rollback
        settings.set_value("gl_guarantee_balance", D("0"))
        settings.set_value("gl_guarantee_balance_account", "")
        assert ledger_close.guarantee_balance(december) == D("2500000.00")
        settings.set_value("gl_guarantee_balance", D("1234.00"))  # a fixed amount still wins
        assert ledger_close.guarantee_balance(december) == D("1234.00")
    finally:
        db.session.rollback()
