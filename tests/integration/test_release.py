"""POST-8 (解保 / 担保结算): the bank confirms repayment; the guarantee is released with balance 0, the margin
refund is a ledger event that finance vouchers (Dr 存入保证金 / Cr 银行存款), the contracts end, the bank line and
the customer's credit limit are freed, the settlement statement is kept; a second release is refused."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import Conflict, ValidationError
from tests.conftest import unique
from tests.integration.test_compensation_support import in_force_guarantee, set_business_date, uid

DAY = date(2037, 6, 30)


def _limit(db, customer_id, amount):
    from models.credit_limits import CreditLimit

    item = CreditLimit(code=unique("SX"), customer_id=customer_id, kind="comprehensive", amount=Decimal(amount),
                       valid_from=date(2037, 1, 1), valid_to=date(2037, 12, 31), status="granted")
    db.session.add(item)
    db.session.commit()
    return item


def test_release_refunds_margin_and_frees_line_and_limit(app, db, login_as):
    from app.services import banks, credit_limits, ledger_events, release
    from models.business import Guarantee
    from models.ledger import BusinessEvent
    from tests.integration.ledger_support import users

    set_business_date(db, DAY)
    g = in_force_guarantee(db, amount="800000.00", loan_date=date(2036, 12, 31), months=6, deposit="80000.00")
    _limit(db, g.customer_id, "2000000")
    bank = g.bank
    assert banks.line_usage(bank)["in_force"] == Decimal("800000.00")
    assert credit_limits.usage(g.customer_id)["used"] == Decimal("800000.00")
    assert release.margin_held(g.id) == Decimal("80000.00")

    risk = uid(P.RISK_OFFICER)
    for bad in ({"bank_confirmation": ""}, {"margin_refund": "90000"}, {"released_on": "2037-07-01"},
                {"margin_refund": "-1"}, {"bank_account": ""}):
        with pytest.raises(ValidationError):
            release.release(g.id, {"bank_confirmation": "HK-9", "bank_account": "工行 001", **bad}, risk)
        db.session.rollback()
    assert db.session.get(Guarantee, g.id).stage == "in_force"

    # post-guarantee work in hand: a planned inspection and an open warning end with the release
    from app.services import warnings
    from models.post_guarantee import Inspection

    db.session.add(Inspection(guarantee_id=g.id, kind="periodic", due_date=date(2037, 3, 1), status="scheduled"))
    warning = warnings.raise_warning("maturity_near", f"release-test:{g.id}", guarantee_id=g.id,
                                     customer_id=g.customer_id, message="到期提醒")
    db.session.commit()
    warning_id = warning.id

    # through the screen, as risk management: a hand-made POST meets the same service
    web = login_as(P.RISK_OFFICER)
    page = f"/settlement/page/{g.id}"
    assert "release-form" in web.get(page).get_data(as_text=True)
    response = web.post_form(f"/settlement/release/{g.id}", {"bank_confirmation": "HK-2037-01",
                                                               "bank_account": "工行 001"}, form_page=page)
    assert response.status_code == 302
    db.session.expire_all()
    g = db.session.get(Guarantee, g.id)
    assert (g.stage, g.status, g.balance) == ("released", "released", Decimal("0.00"))
    assert all(c.end_date == DAY for c in g.contracts) and len(g.contracts) == 2
    assert g.history[-1].action == "released"
    assert not db.session.execute(select(Inspection.id).where(Inspection.guarantee_id == g.id,
                                                              Inspection.status == "scheduled")).first()
    from models.post_guarantee import PostWarning

    assert db.session.get(PostWarning, warning_id).status == "resolved"
    record = release.release_of(g.id)
    assert record.margin_refund == Decimal("80000.00") and record.statement["margin_refund"] == "80000.00"
    assert record.statement["loan_amount"] == "800000.00" and record.statement["released_on"] == DAY.isoformat()
    assert banks.line_usage(bank)["in_force"] == Decimal("0.00")
    assert credit_limits.usage(g.customer_id)["used"] == Decimal("0.00")
    assert credit_limits.usage(g.customer_id)["available"] == Decimal("2000000.00")

    event = db.session.get(BusinessEvent, record.event_id)
    assert (event.kind, event.amount, event.customer_id) == ("margin_refunded", Decimal("80000.00"), g.customer_id)
    voucher = ledger_events.approve_event(event.id, users(app)["maker"])
    db.session.commit()
    assert [(ln.account.code, ln.debit, ln.credit) for ln in voucher.lines] == [
        ("224101", Decimal("80000.00"), 0), ("1002", 0, Decimal("80000.00"))]

    with pytest.raises(Conflict):  # released once
        release.release(g.id, {"bank_confirmation": "HK-again", "bank_account": "工行 001"}, risk)
    db.session.rollback()
    html = web.get(page).get_data(as_text=True)
    assert "HK-2037-01" in html and "release-form" not in html
    # the account manager records early repayments but does not release
    am = login_as(P.ACCOUNT_MANAGER)
    g2 = in_force_guarantee(db, amount="100000.00", loan_date=date(2037, 1, 1), months=12)
    assert am.post_form(f"/settlement/release/{g2.id}", {"bank_confirmation": "x"},
                        form_page=f"/settlement/page/{g2.id}").status_code == 403
    assert db.session.get(Guarantee, g2.id).stage == "in_force"


def test_release_waits_for_an_open_compensation(app, db):
    from app.services import compensation, release

    set_business_date(db, DAY)
    g = in_force_guarantee(db, amount="300000.00", loan_date=date(2037, 1, 5), months=12)
    compensation.apply({"guarantee_id": g.id, "demand_date": "2037-06-01", "principal": "300000",
                        "reason": "逾期"}, uid(P.ACCOUNT_MANAGER))
    db.session.commit()
    with pytest.raises(Conflict):
        release.release(g.id, {"bank_confirmation": "HK-1"}, uid(P.RISK_OFFICER))
    db.session.rollback()
