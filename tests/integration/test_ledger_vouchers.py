"""GL-1, GL-3, GL-7: chart-of-accounts rules; vouchers made, reviewed, signed, posted and reversed only as the
rules allow — whether through the service, the screen, the REST API or a hand-made POST; gap-free numbers;
the hash chain verifies and names a tampered voucher."""
import threading

import pytest
from sqlalchemy import func, select, text

from app import permissions as P
from app.errors import Conflict, GuaranteeError, ValidationError
from app.services import ledger, settings
from models.ledger import Account, Voucher, VoucherLine
from tests.integration.ledger_support import (account_ids, cash_lines, fresh_day, make_posted, plain_lines, refused,
                                              set_period_status, users)


@pytest.fixture
def ctx(app, db):
    return {"users": users(app), "accounts": account_ids(db)}


def _count(db, model=Voucher):
    db.session.rollback()
    return db.session.execute(select(func.count(model.id))).scalar()


# --- chart of accounts ---------------------------------------------------------------------------------

def test_default_chart_is_loaded_with_levels_and_flags(db):
    accounts = {a.code: a for a in db.session.execute(select(Account)).scalars()}
    for code in ("1001", "1002", "1131", "2241", "224101", "2601", "2602", "4104", "410401", "6001", "6501", "6801"):
        assert code in accounts
    assert accounts["224101"].parent.code == "2241" and accounts["224101"].level == 2
    assert accounts["1002"].is_cash and accounts["1002"].aux_bank and accounts["1231"].direction == "credit"
    from app.services.ledger_reference import load_ledger_reference

    load_ledger_reference()  # idempotent
    db.session.commit()
    assert db.session.execute(select(func.count(Account.id)).where(Account.code == "1002")).scalar() == 1


@pytest.mark.parametrize("code,parent,category,message", [
    ("12a4", None, "asset", ("digits", "数字")), ("123", None, "asset", ("4 digits", "4位")),
    ("2999", None, "asset", ("starts with 1", "以 1 开头")), ("122201", "1221", "asset", ("1221",)),
    ("12210", "1221", "asset", ("1221",)), ("122199", "1221", "liability", ("category", "类别")),
    ("1002", None, "asset", ("already exists", "已存在")),
])
def test_account_codes_are_validated(db, code, parent, category, message):
    item = Account(code=code, name="测试科目", category=category, direction="debit",
                   parent=db.session.execute(select(Account).where(Account.code == parent)).scalar() if parent else None)
    with refused(ValidationError, *message):
        ledger.validate_account(item)
    db.session.rollback()


def test_account_in_use_cannot_be_deleted_and_a_parent_with_lines_gets_no_children(app, db, ctx, admin_web):
    day = fresh_day()
    ledger.create_voucher(day, plain_lines(ctx["accounts"]), maker_id=ctx["users"]["maker"])
    db.session.commit()
    used = db.session.get(Account, ctx["accounts"]["6051"])
    with pytest.raises(ValidationError):
        ledger.refuse_account_in_use(used)
    with pytest.raises(ValidationError):  # has children
        ledger.refuse_account_in_use(db.session.get(Account, ctx["accounts"]["2241"]))
    child = Account(code="605101", name="子科目", category="profit_loss", direction="credit", parent=used)
    with refused(ValidationError, "sub-accounts", "下级"):
        ledger.validate_account(child)
    db.session.rollback()
    response = admin_web.post_form(f"/accountview/delete/{used.id}", {}, form_page="/accountview/list/",
                                   follow_redirects=True)
    assert response.status_code == 200
    assert db.session.get(Account, ctx["accounts"]["6051"]) is not None


# --- refusals --------------------------------------------------------------------------------------------

def test_unbalanced_voucher_is_refused_everywhere(app, db, ctx, login_as, api_as):
    day = fresh_day()
    before = _count(db)
    lines = plain_lines(ctx["accounts"])
    lines[1]["credit"] = "99.99"
    with refused(ValidationError, "99.99") as err:
        ledger.create_voucher(day, lines, maker_id=ctx["users"]["maker"])
    assert "100.00" in err.value.message
    db.session.rollback()
    api = api_as(P.ACCOUNTANT)
    response = api.post("/api/v1/voucher/", json={"voucher_date": day.isoformat(), "lines": lines})
    assert response.status_code == 422 and "99.99" in response.get_json()["message"]
    web = login_as(P.ACCOUNTANT)
    form = {"voucher_date": day.isoformat(), "voucher_type": "ji", "summary": "x", "attachment_count": "1",
            "line_summary": ["a", "a"], "account_id": [str(ctx["accounts"]["122102"]), str(ctx["accounts"]["6051"])],
            "debit": ["100", ""], "credit": ["", "99.99"], "customer_id": ["", ""], "department_id": ["", ""],
            "project_code": ["", ""], "bank_account": ["", ""]}
    response = web.post_form("/voucherview/add", form)
    assert response.status_code == 200 and "99.99" in response.get_data(as_text=True)
    assert _count(db) == before


@pytest.mark.parametrize("change,message", [
    (lambda ls: ls[0].update(credit="5"), ("either", "只能填一个")),  # both sides on one line
    (lambda ls: ls[0].update(debit="0"), ("either", "只能填一个")),
    (lambda ls: ls[0].update(debit="1.234"), ("two decimal", "两位小数")),
    (lambda ls: ls[0].update(account_id=None), ("account", "会计科目")),
    (lambda ls: ls.pop(), ("two lines", "两条分录")),
])
def test_bad_lines_are_refused(db, ctx, change, message):
    lines = plain_lines(ctx["accounts"])
    change(lines)
    with refused(ValidationError, *message):
        ledger.create_voucher(fresh_day(), lines, maker_id=ctx["users"]["maker"])
    db.session.rollback()


def test_parent_disabled_and_aux_required_accounts(db, ctx):
    accounts = ctx["accounts"]
    parent = [{"account_id": accounts["2241"], "summary": "x", "debit": "1"},
              {"account_id": accounts["6051"], "summary": "x", "credit": "1"}]
    with refused(ValidationError, "sub-accounts", "末级科目"):
        ledger.create_voucher(fresh_day(), parent, maker_id=ctx["users"]["maker"])
    db.session.rollback()
    margin = [{"account_id": accounts["224101"], "summary": "x", "debit": "1"},
              {"account_id": accounts["6051"], "summary": "x", "credit": "1"}]
    with refused(ValidationError, "customer", "客户"):
        ledger.create_voucher(fresh_day(), margin, maker_id=ctx["users"]["maker"])
    db.session.rollback()
    cash = cash_lines(accounts)
    cash[0]["bank_account"] = ""
    with refused(ValidationError, "bank account", "银行账户"):
        ledger.create_voucher(fresh_day(), cash, maker_id=ctx["users"]["maker"])
    db.session.rollback()


def test_voucher_types_restrict_cash(db, ctx):
    with refused(ValidationError, "receipt", "收款凭证"):
        ledger.create_voucher(fresh_day(), plain_lines(ctx["accounts"]), voucher_type="shou",
                              maker_id=ctx["users"]["maker"])
    db.session.rollback()
    with refused(ValidationError, "transfer", "转账凭证"):
        ledger.create_voucher(fresh_day(), cash_lines(ctx["accounts"]), voucher_type="zhuan",
                              maker_id=ctx["users"]["maker"])
    db.session.rollback()


def test_maker_cannot_review_or_post_own_voucher(db, ctx, login_as):
    u = ctx["users"]
    voucher = ledger.create_voucher(fresh_day(), plain_lines(ctx["accounts"]), maker_id=u["reviewer"])
    db.session.commit()
    with refused(ValidationError, "maker", "制单人"):
        ledger.review_voucher(voucher.id, u["reviewer"])
    db.session.rollback()
    web = login_as(P.FINANCE_REVIEWER)
    response = web.post_form(f"/voucherreview/review/{voucher.id}", {}, form_page=f"/voucherview/show/{voucher.id}",
                             follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).status == "draft"
    ledger.review_voucher(voucher.id, u["admin"])
    db.session.commit()
    with refused(ValidationError, "maker", "制单人"):
        ledger.post_voucher(voucher.id, u["reviewer"])
    db.session.rollback()


def test_posting_into_a_closed_period_is_refused(db, app, ctx):
    u = ctx["users"]
    day = fresh_day()
    voucher = ledger.create_voucher(day, plain_lines(ctx["accounts"]), maker_id=u["maker"])
    ledger.review_voucher(voucher.id, u["reviewer"])
    db.session.commit()
    set_period_status(db, day, "closed")
    with refused(ValidationError, "closed", "已结账"):
        ledger.post_voucher(voucher.id, u["reviewer"])
    db.session.rollback()
    with refused(ValidationError, "closed", "已结账"):
        ledger.create_voucher(day, plain_lines(ctx["accounts"]), maker_id=u["maker"])
    db.session.rollback()
    set_period_status(db, day, "open")
    assert ledger.post_voucher(voucher.id, u["reviewer"]).status == "posted"
    db.session.commit()


def test_posted_voucher_is_never_changed_by_service_screen_api_or_direct_post(app, db, ctx, login_as, api_as):
    voucher = make_posted(db, app, fresh_day())
    snapshot = (voucher.voucher_date, voucher.summary, voucher.hash,
                [(ln.account_id, ln.debit, ln.credit, ln.summary) for ln in voucher.lines])
    with pytest.raises(Conflict):
        ledger.update_voucher(voucher.id, voucher.voucher_date, plain_lines(ctx["accounts"], "5.00"))
    db.session.rollback()
    with pytest.raises(Conflict):
        ledger.delete_voucher(voucher.id)
    db.session.rollback()
    with pytest.raises(Conflict):  # even straight through the ORM
        db.session.get(Voucher, voucher.id).summary = "改"
        db.session.flush()
    db.session.rollback()
    with pytest.raises(Conflict):
        db.session.get(Voucher, voucher.id).lines[0].summary = "改"
        db.session.flush()
    db.session.rollback()
    admin = login_as(P.ADMIN)
    accounts = ctx["accounts"]
    form = {"voucher_date": voucher.voucher_date.isoformat(), "voucher_type": "ji", "summary": "改",
            "line_summary": ["a", "a"], "account_id": [str(accounts["122102"]), str(accounts["6051"])],
            "debit": ["5", ""], "credit": ["", "5"]}
    admin.post_form(f"/voucherview/edit/{voucher.id}", form, form_page="/voucherview/add")  # a hand-made POST
    admin.post_form(f"/voucherview/delete/{voucher.id}", {}, form_page="/voucherview/add")
    page = admin.get(f"/voucherview/edit/{voucher.id}", follow_redirects=True).get_data(as_text=True)
    assert 'id="voucher-form"' not in page  # the screen offers no edit form
    listed = admin.get(f"/voucherview/list/?_flt_0_period={voucher.period_id}").get_data(as_text=True)
    assert f"/voucherview/show/{voucher.id}" in listed  # the list offers neither edit nor delete for it
    assert f"/voucherview/edit/{voucher.id}" not in listed and f"/voucherview/delete/{voucher.id}" not in listed
    api = api_as(P.ADMIN)
    response = api.put(f"/api/v1/voucher/{voucher.id}", json={"voucher_date": "2030-01-01",
                                                               "lines": plain_lines(accounts, "5.00")})
    assert response.status_code == 409
    assert api.delete(f"/api/v1/voucher/{voucher.id}").status_code == 409
    db.session.expire_all()
    again = db.session.get(Voucher, voucher.id)
    assert (again.voucher_date, again.summary, again.hash,
            [(ln.account_id, ln.debit, ln.credit, ln.summary) for ln in again.lines]) == snapshot
    assert again.status == "posted"


def test_reversal_negates_once_only(app, db, ctx, api_as):
    day = fresh_day()
    voucher = make_posted(db, app, day)
    reversal = ledger.reverse_voucher(voucher.id, ctx["users"]["maker"], on=day)
    db.session.commit()
    assert reversal.reversal_of_id == voucher.id and reversal.status == "draft"
    assert [(ln.debit, ln.credit) for ln in reversal.lines] == [(-ln.debit, -ln.credit) for ln in voucher.lines]
    with refused(Conflict, "already been reversed", "冲销"):
        ledger.reverse_voucher(voucher.id, ctx["users"]["maker"], on=day)
    db.session.rollback()
    response = api_as(P.ACCOUNTANT).post(f"/api/v1/voucher_action/{voucher.id}/reverse")
    assert response.status_code == 409
    with pytest.raises(ValidationError):  # a draft cannot be reversed
        ledger.reverse_voucher(reversal.id, ctx["users"]["maker"], on=day)
    db.session.rollback()


def test_numbering_has_no_gaps(app, db, ctx):
    u, accounts = ctx["users"], ctx["accounts"]
    day = fresh_day()
    made = [ledger.create_voucher(day, plain_lines(accounts), maker_id=u["maker"]) for _ in range(4)]
    other = ledger.create_voucher(day, plain_lines(accounts), voucher_type="zhuan", maker_id=u["maker"])
    db.session.commit()
    assert [v.number for v in made] == [1, 2, 3, 4] and other.number == 1
    ledger.delete_voucher(made[1].id)
    db.session.commit()
    numbers = db.session.execute(select(Voucher.number).where(Voucher.period_id == made[0].period_id,
                                                              Voucher.voucher_type == "ji")
                                 .order_by(Voucher.number)).scalars().all()
    assert numbers == [1, 2, 3]
    # a draft before a posted voucher keeps its number: deleting it is refused
    db.session.expire_all()
    last = db.session.get(Voucher, made[3].id)
    assert last.number == 3
    ledger.review_voucher(last.id, u["reviewer"])
    ledger.post_voucher(last.id, u["reviewer"])
    db.session.commit()
    with refused(ValidationError, "posted", "已记账"):
        ledger.delete_voucher(made[0].id)
    db.session.rollback()
    # moving a draft to another month leaves no gap in either
    moved = ledger.create_voucher(day, plain_lines(accounts), maker_id=u["maker"])
    db.session.commit()
    assert moved.number == 4
    ledger.update_voucher(moved.id, day.replace(month=2), plain_lines(accounts), voucher_type="ji")
    db.session.commit()
    assert moved.number == 1
    ledger.create_voucher(day, plain_lines(accounts), maker_id=u["maker"])
    db.session.commit()
    numbers = db.session.execute(select(Voucher.number).where(Voucher.period_id == made[0].period_id,
                                                              Voucher.voucher_type == "ji")
                                 .order_by(Voucher.number)).scalars().all()
    assert numbers == [1, 2, 3, 4]


def test_cashier_sign_rule(app, db, ctx, login_as):
    u, accounts = ctx["users"], ctx["accounts"]
    voucher = ledger.create_voucher(fresh_day(), cash_lines(accounts), voucher_type="shou", maker_id=u["maker"])
    ledger.review_voucher(voucher.id, u["reviewer"])
    db.session.commit()
    with refused(ValidationError, "cashier", "出纳"):
        ledger.post_voucher(voucher.id, u["reviewer"])
    db.session.rollback()
    reviewer = login_as(P.FINANCE_REVIEWER)  # the reviewer may not sign for the cashier
    assert reviewer.post_form(f"/cashiersign/sign/{voucher.id}", {},
                              form_page=f"/voucherview/show/{voucher.id}").status_code == 403
    cashier = login_as(P.CASHIER)
    response = cashier.post_form(f"/cashiersign/sign/{voucher.id}", {}, form_page=f"/voucherview/show/{voucher.id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).cashier_id == u["cashier"]
    assert ledger.post_voucher(voucher.id, u["reviewer"]).status == "posted"
    db.session.commit()
    with refused(ValidationError, "no cashier", "无需出纳"):  # nothing to sign on a voucher without cash
        plain = ledger.create_voucher(fresh_day(), plain_lines(accounts), maker_id=u["maker"])
        ledger.sign_voucher(plain.id, u["cashier"])
    db.session.rollback()
    settings.set_value("ledger_cashier_sign_required", False)
    db.session.commit()
    try:
        other = ledger.create_voucher(fresh_day(), cash_lines(accounts), voucher_type="shou", maker_id=u["maker"])
        ledger.review_voucher(other.id, u["reviewer"])
        assert ledger.post_voucher(other.id, u["reviewer"]).status == "posted"
        db.session.commit()
    finally:
        settings.set_value("ledger_cashier_sign_required", True)
        db.session.commit()


def test_screen_flow_review_post_and_pages_render(app, db, ctx, login_as):
    accounts = ctx["accounts"]
    maker = login_as(P.ACCOUNTANT)
    day = fresh_day()
    form = {"voucher_date": day.isoformat(), "voucher_type": "ji", "summary": "购买办公用品", "attachment_count": "2",
            "line_summary": ["购买办公用品", "购买办公用品", ""],
            "account_id": [str(accounts["660202"]), str(accounts["122102"]), ""],
            "debit": ["1,200.00", "", ""], "credit": ["", "1200", ""],
            "customer_id": ["", "", ""], "department_id": ["1", "", ""], "project_code": ["", "", ""],
            "bank_account": ["", "", ""]}
    assert "voucher-lines" in maker.get("/voucherview/add").get_data(as_text=True)
    response = maker.post_form("/voucherview/add", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    voucher_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    reviewer = login_as(P.FINANCE_REVIEWER)
    page = f"/voucherview/show/{voucher_id}"
    assert reviewer.post_form(f"/voucherreview/review/{voucher_id}", {}, form_page=page).status_code == 302
    assert maker.post_form(f"/voucherpost/post/{voucher_id}", {}, form_page="/voucherview/add").status_code == 403
    assert reviewer.post_form(f"/voucherpost/post/{voucher_id}", {}, form_page=page).status_code == 302
    db.session.expire_all()
    voucher = db.session.get(Voucher, voucher_id)
    assert voucher.status == "posted" and voucher.attachment_count == 2 and voucher.total_debit == 1200
    html = reviewer.get(page).get_data(as_text=True)
    assert voucher.display_number in html and "btn-review" not in html
    listing = reviewer.get(f"/voucherview/list/?_flt_0_period={voucher.period_id}&_flt_3_status=posted&account=6602")
    assert listing.status_code == 200 and f"/voucherview/show/{voucher_id}" in listing.get_data(as_text=True)
    listing = reviewer.get(f"/voucherview/list/?_flt_0_period={voucher.period_id}&account=1001")
    assert f"/voucherview/show/{voucher_id}" not in listing.get_data(as_text=True)
    pdf = reviewer.get(f"/voucherview/print/?id={voucher_id},{voucher_id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    for url in ("/accountview/list/", "/businesseventview/list/", "/vouchertemplateview/list/", "/ledgerverify/"):
        assert maker.get(url).status_code == 200, url
    cashier = login_as(P.CASHIER)
    assert cashier.get("/vouchertemplateview/list/").status_code == 403


def test_api_creates_and_reviews_through_the_services(app, db, ctx, api_as):
    accounts = ctx["accounts"]
    day = fresh_day()
    api = api_as(P.ACCOUNTANT)
    response = api.post("/api/v1/voucher/", json={"voucher_date": day.isoformat(), "voucher_type": "ji",
                                                  "summary": "API", "lines": plain_lines(accounts, "8.50")})
    assert response.status_code == 201, response.get_json()
    voucher_id = response.get_json()["id"]
    assert api.post(f"/api/v1/voucher_review/{voucher_id}/review").status_code == 403
    reviewer = api_as(P.FINANCE_REVIEWER)
    assert reviewer.post(f"/api/v1/voucher_review/{voucher_id}/review").status_code == 200
    response = reviewer.post(f"/api/v1/voucher_post/{voucher_id}/post")
    assert response.status_code == 200 and response.get_json()["result"]["status"] == "posted"
    assert reviewer.post(f"/api/v1/voucher_post/{voucher_id}/post").status_code == 409
    detail = reviewer.get(f"/api/v1/voucher_action/{voucher_id}/lines").get_json()["result"]
    assert detail["lines"][0]["debit"] == "8.50"


# --- concurrency (PostgreSQL row locks) ------------------------------------------------------------------

def _race(app, work, count=2):
    from app.extensions import db as _db

    barrier = threading.Barrier(count)
    results = []

    def run():
        with app.app_context():
            barrier.wait()
            try:
                results.append(("ok", work()))
                _db.session.commit()
            except GuaranteeError as ex:
                _db.session.rollback()
                results.append(("refused", ex.message))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_posts_at_once_one_success_one_message(app, db, ctx, dialect):
    if dialect != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite serialises writers")
    u = ctx["users"]
    vouchers = []
    for _ in range(3):
        v = ledger.create_voucher(fresh_day(), plain_lines(ctx["accounts"]), maker_id=u["maker"])
        ledger.review_voucher(v.id, u["reviewer"])
        vouchers.append(v.id)
    db.session.commit()
    results = _race(app, lambda: ledger.post_voucher(vouchers[0], u["reviewer"]).id)
    assert sorted(r[0] for r in results) == ["ok", "refused"]
    assert any("already been posted" in str(r[1]) or "已记账" in str(r[1]) for r in results if r[0] == "refused")
    ids = iter(vouchers[1:])
    lock = threading.Lock()

    def post_next():
        with lock:
            pk = next(ids)
        return ledger.post_voucher(pk, u["reviewer"]).post_seq

    results = _race(app, post_next)  # two different vouchers at once: consecutive links, no fork
    assert [r[0] for r in results] == ["ok", "ok"]
    assert ledger.verify_chain().ok


def test_two_creates_at_once_get_consecutive_numbers(app, db, ctx, dialect):
    if dialect != "postgresql":
        pytest.skip("PostgreSQL")
    day = fresh_day()
    u = ctx["users"]
    results = _race(app, lambda: ledger.create_voucher(day, plain_lines(ctx["accounts"]), maker_id=u["maker"]).number,
                    count=3)
    assert sorted(r[1] for r in results) == [1, 2, 3]


# --- tamper evidence (GL-7) ---------------------------------------------------------------------------------

def test_chain_verifies_and_names_a_tampered_voucher(app, db, ctx, login_as):
    voucher = make_posted(db, app, fresh_day())
    make_posted(db, app, fresh_day())
    assert ledger.verify_chain().ok
    line = voucher.lines[0]
    summary = voucher.summary
    db.session.execute(text("UPDATE gl_voucher_line SET debit = debit + 1 WHERE id = :id"), {"id": line.id})
    db.session.commit()
    try:
        report = ledger.verify_chain()
        assert not report.ok and report.voucher_id == voucher.id and report.post_seq == voucher.post_seq
        assert voucher.display_number in report.message
        html = login_as(P.AUDITOR).get("/ledgerverify/").get_data(as_text=True)
        assert voucher.display_number in html and "alert-danger" in html
        result = app.test_cli_runner().invoke(args=["ledger-verify"])
        assert result.exit_code == 1 and voucher.display_number in result.output
    finally:
        db.session.execute(text("UPDATE gl_voucher_line SET debit = debit - 1 WHERE id = :id"), {"id": line.id})
        db.session.commit()
    assert ledger.verify_chain().ok
    result = app.test_cli_runner().invoke(args=["ledger-verify"])
    assert result.exit_code == 0
    # a deleted posted voucher shows as a missing link
    db.session.execute(text("UPDATE gl_voucher SET summary = 'x' WHERE id = :id"), {"id": voucher.id})
    db.session.commit()
    try:
        assert ledger.verify_chain().voucher_id == voucher.id
    finally:
        db.session.execute(text("UPDATE gl_voucher SET summary = :s WHERE id = :id"),
                           {"s": summary, "id": voucher.id})
        db.session.commit()
    assert ledger.verify_chain().ok
    lines_posted = db.session.execute(select(func.count(VoucherLine.id)).where(
        VoucherLine.voucher_id == voucher.id, VoucherLine.posted.is_(True))).scalar()
    assert lines_posted == 2


def test_auditor_reads_and_exports_but_changes_nothing(app, db, ctx, login_as):
    make_posted(db, app, fresh_day())
    auditor = login_as(P.AUDITOR)
    for url in ("/voucherview/export/", "/accountview/export/", "/businesseventview/export/"):
        response = auditor.get(url)
        assert response.status_code in (200, 302), url
        if response.status_code == 200:
            assert response.data[:2] == b"PK", url  # an xlsx file
    assert auditor.get("/voucherview/add").status_code == 403
    assert auditor.post_form("/voucherview/add", {"voucher_date": "2030-01-01"},
                             form_page="/voucherview/list/").status_code == 403
