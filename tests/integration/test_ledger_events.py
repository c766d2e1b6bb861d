"""GL-2 (复核管理): business financial events are recorded once per source, reviewed by finance into exactly
one voucher from the template of their kind (even when two people approve at once), or rejected with a reason."""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import permissions as P
from app.errors import Conflict, GuaranteeError, ValidationError
from app.services import ledger, ledger_events
from models.ledger import Account, BusinessEvent, Voucher, VoucherTemplate, VoucherTemplateLine
from tests.conftest import unique
from tests.integration.ledger_support import fresh_day, users


@pytest.fixture
def customer_id(db):
    from app.services.demo import generate_customers
    from models.customers import Customer

    customer = db.session.execute(select(Customer).limit(1)).scalar()
    if customer is None:
        generate_customers(1, seed=5)
        customer = db.session.execute(select(Customer).limit(1)).scalar()
    return customer.id


def _event(kind="fee_received", amount="12000.00", customer_id=None, **kw):
    return ledger_events.record_event(kind, Decimal(amount), kw.pop("day", None) or fresh_day(), "guarantee",
                                      unique("G"), customer_id=customer_id, project_code="DB2026001",
                                      bank_account="工行 6222", **kw)


def test_record_event_is_idempotent_and_validated(db, customer_id):
    day = fresh_day()
    first = ledger_events.record_event("margin_received", Decimal("5000"), day, "guarantee", "G-idem",
                                       customer_id=customer_id, project_code="P1")
    db.session.commit()
    again = ledger_events.record_event("margin_received", Decimal("5000"), day, "guarantee", "G-idem",
                                       customer_id=customer_id, project_code="P1")
    assert again.id == first.id
    other_kind = ledger_events.record_event("fee_received", Decimal("100"), day, "guarantee", "G-idem",
                                            customer_id=customer_id)
    assert other_kind.id != first.id
    db.session.commit()
    for bad in (dict(kind="nonsense"), dict(amount=Decimal("0")), dict(amount="abc")):
        args = {"kind": "fee_received", "amount": Decimal("1"), **bad}
        with pytest.raises(ValidationError):
            ledger_events.record_event(args["kind"], args["amount"], day, "guarantee", unique("G"))
        db.session.rollback()


def test_approve_makes_the_voucher_from_the_template(app, db, customer_id):
    u = users(app)
    event = _event("fee_received", "12000.00", customer_id)
    db.session.commit()
    voucher = ledger_events.approve_event(event.id, u["maker"])
    db.session.commit()
    assert voucher.voucher_type == "shou" and voucher.source == "event" and voucher.maker_id == u["maker"]
    assert [(ln.account.code, ln.debit, ln.credit) for ln in voucher.lines] == [
        ("1002", Decimal("12000.00"), 0), ("6001", 0, Decimal("12000.00"))]
    assert voucher.lines[1].customer_id == customer_id and voucher.lines[1].project_code == "DB2026001"
    assert voucher.lines[0].bank_account == "工行 6222"
    db.session.refresh(event)
    assert event.status == "vouchered" and event.voucher_id == voucher.id and event.reviewed_by_id == u["maker"]
    with pytest.raises(Conflict):
        ledger_events.approve_event(event.id, u["maker"])
    db.session.rollback()
    # the voucher then goes the usual way: review by another person, cashier, post
    ledger.review_voucher(voucher.id, u["reviewer"])
    ledger.sign_voucher(voucher.id, u["cashier"])
    ledger.post_voucher(voucher.id, u["reviewer"])
    db.session.commit()
    assert ledger.verify_chain().ok


def test_an_event_without_a_bank_account_takes_the_company_default(app, db, customer_id):
    """A fee receipt names no bank account; 1002 keeps bank accounts, so the voucher takes the company's default
    (setting gl_default_bank_account) and, without one, the event is refused with the reason."""
    from app.services import settings

    u = users(app)
    event = ledger_events.record_event("fee_received", Decimal("800.00"), fresh_day(), "guarantee", unique("G"),
                                       customer_id=customer_id, project_code="DB2026002")
    db.session.commit()
    settings.set_value("gl_default_bank_account", "")
    db.session.commit()
    with pytest.raises(ValidationError):
        ledger_events.approve_event(event.id, u["maker"])
    db.session.rollback()
    settings.set_value("gl_default_bank_account", "建行 基本户 3300")
    db.session.commit()
    try:
        voucher = ledger_events.approve_event(event.id, u["maker"])
        db.session.commit()
        assert [(ln.account.code, ln.bank_account) for ln in voucher.lines] == [("1002", "建行 基本户 3300"),
                                                                                ("6001", None)]
    finally:
        settings.set_value("gl_default_bank_account", "")
        db.session.commit()


def test_deleting_the_draft_gives_the_event_back_to_the_queue(app, db, customer_id):
    u = users(app)
    event = _event("margin_refunded", "300", customer_id)
    db.session.commit()
    voucher = ledger_events.approve_event(event.id, u["maker"])
    db.session.commit()
    ledger.delete_voucher(voucher.id)
    db.session.commit()
    db.session.refresh(event)
    assert event.status == "pending" and event.voucher_id is None


def test_reject_needs_a_reason(app, db, customer_id, login_as):
    u = users(app)
    event = _event("recovery_received", "800", customer_id)
    db.session.commit()
    with pytest.raises(ValidationError):
        ledger_events.reject_event(event.id, "  ", u["maker"])
    db.session.rollback()
    web = login_as(P.ACCOUNTANT)
    page = f"/businesseventview/show/{event.id}"
    assert "btn-approve" in web.get(page).get_data(as_text=True)
    response = web.post_form(f"/businesseventview/reject/{event.id}", {"reason": "金额有误"}, form_page=page)
    assert response.status_code == 302
    db.session.refresh(event)
    assert event.status == "rejected" and event.reject_reason == "金额有误"
    with pytest.raises(Conflict):
        ledger_events.approve_event(event.id, u["maker"])
    db.session.rollback()


def test_screen_approve_and_permissions(app, db, customer_id, login_as, api_as):
    event = _event("compensation_paid", "50000", customer_id)
    db.session.commit()
    page = f"/businesseventview/show/{event.id}"
    cashier = login_as(P.CASHIER)
    assert "btn-approve" not in cashier.get(page).get_data(as_text=True)
    assert cashier.post_form(f"/businesseventview/approve/{event.id}", {},
                             form_page="/voucherview/list/").status_code == 403
    accountant = login_as(P.ACCOUNTANT)
    response = accountant.post_form(f"/businesseventview/approve/{event.id}", {}, form_page=page)
    assert response.status_code == 302 and "/voucherview/show/" in response.headers["Location"]
    db.session.refresh(event)
    assert event.status == "vouchered"
    assert [ln.account.code for ln in event.voucher.lines] == ["1131", "1002"]
    other = _event("recovery_received", "10", customer_id)
    db.session.commit()
    api = api_as(P.ACCOUNTANT)
    response = api.post(f"/api/v1/business_event_review/{other.id}/approve")
    assert response.status_code == 200 and response.get_json()["result"]["status"] == "draft"
    assert api.post(f"/api/v1/business_event_review/{other.id}/approve").status_code == 409
    assert api.get("/api/v1/business_event/").status_code == 200


def test_template_that_does_not_fit_is_refused_with_its_name(app, db):
    u = users(app)
    event = ledger_events.record_event("staff_borrowing", Decimal("100"), fresh_day(), "oa", unique("B"))
    db.session.commit()
    with pytest.raises(ValidationError) as err:  # 122101 职工借款 keeps departments: the event has none
        ledger_events.approve_event(event.id, u["maker"])
    assert "职工借款" in err.value.message
    db.session.rollback()
    assert db.session.get(BusinessEvent, event.id).status == "pending"


def test_template_lines_are_validated(db):
    parent = db.session.execute(select(Account).where(Account.code == "2241")).scalar()
    template = db.session.execute(select(VoucherTemplate).where(VoucherTemplate.event_kind == "fee_received")).scalar()
    with pytest.raises(ValidationError):
        ledger_events.validate_template_line(VoucherTemplateLine(template_id=template.id, side="debit", account=parent,
                                                                 amount_field="amount"))
    db.session.rollback()
    with pytest.raises(ValidationError):
        ledger_events.validate_template(VoucherTemplate(event_kind="fee_received", name="x", voucher_type="ji",
                                                        summary="{nope"))
    db.session.rollback()


def test_concurrent_approvals_make_exactly_one_voucher(app, db, customer_id, dialect):
    if dialect != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite serialises writers")
    from app.extensions import db as _db

    u = users(app)
    event = _event("fee_received", "999.00", customer_id)
    db.session.commit()
    before = db.session.execute(select(func.count(Voucher.id))).scalar()
    barrier = threading.Barrier(2)
    results = []

    def approve(user):
        with app.app_context():
            barrier.wait()
            try:
                results.append(("ok", ledger_events.approve_event(event.id, user).id))
                _db.session.commit()
            except GuaranteeError as ex:
                _db.session.rollback()
                results.append(("refused", ex.message))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=approve, args=(user,)) for user in (u["maker"], u["admin"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r[0] for r in results) == ["ok", "refused"]
    db.session.expire_all()
    assert db.session.execute(select(func.count(Voucher.id))).scalar() == before + 1
    assert db.session.get(BusinessEvent, event.id).voucher_id == next(r[1] for r in results if r[0] == "ok")


def test_concurrent_record_event_keeps_one(app, db, dialect):
    if dialect != "postgresql":
        pytest.skip("PostgreSQL")
    from app.extensions import db as _db

    source = unique("S")
    day = fresh_day()
    barrier = threading.Barrier(3)
    ids = []

    def record():
        with app.app_context():
            barrier.wait()
            event = ledger_events.record_event("fee_received", Decimal("5"), day, "guarantee", source)
            _db.session.commit()
            ids.append(event.id)
            _db.session.remove()

    threads = [threading.Thread(target=record) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(set(ids)) == 1 and len(ids) == 3
