"""Guarantee backfill (历史补录, BIZ-13) through the real screen (login, CSRF, multipart upload) and the CLI.

The workbooks are built with openpyxl from the template the screen hands out. Happy path: every row in
force at once, backfilled, with one backfilled history entry, counted in the bank's line. Bad rows: nothing
written, and the page and the error workbook name row, column and reason. Permissions: risk officer
and administrator only.
"""
import html
import io
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select
from stdnum.cn import uscc

from app import permissions as P
from models.business import Guarantee, StageHistory
from models.system import OperationLog
from tests.conftest import ROLE_USERS

TOKEN_LINK = re.compile(r'href="(/guaranteebackfill/errors/[^"]+)"')


def _labels(app) -> dict[str, str]:
    """field -> the column's header as the screen's language (Chinese) writes it, without the *."""
    from app.services.guarantee_backfill import COLUMNS

    with app.test_request_context():
        return {c.field: str(c.label) for c in COLUMNS}


def _uscc():
    body = "91330100" + f"{uuid.uuid4().int % 10**9:09d}"
    return body + uscc.calc_check_digit(body)


@pytest.fixture
def world(db, app):
    """Two customers, a loan product (100,000 – 10,000,000, 1 – 36 months, 0.5 % – 3 %) and two banks."""
    from app.services import business_date
    from models.customers import Customer
    from models.products import CooperatingBank, Product

    tag = uuid.uuid4().hex[:6].upper()
    today = business_date.today()
    manager_id = app.appbuilder.sm.find_user(username=ROLE_USERS[P.ACCOUNT_MANAGER]).id
    customers = [Customer(code=f"KH{tag}{i}", kind="corporate", name=f"补录测试{tag}{i}有限公司", id_type="USCC",
                          id_number=_uscc(), direct="direct", manager_id=[None, manager_id][i]) for i in range(2)]
    product = Product(code=f"P{tag}", name=f"补录贷款担保{tag}", guarantee_kind="loan", amount_min=Decimal("100000"),
                      amount_max=Decimal("10000000"), term_min=1, term_max=36, fee_rate_min=Decimal("0.005"),
                      fee_rate_max=Decimal("0.03"), counter_kinds=[], active=True)
    banks = [CooperatingBank(code=f"B{tag}{i}", name=f"补录银行{tag}{i}", total_line=Decimal("50000000"),
                             single_cap=Decimal("10000000"), margin_ratio=Decimal("0.1"),
                             risk_share_ratio=Decimal("0.2"), valid_from=today - timedelta(days=800),
                             valid_to=today + timedelta(days=800), active=True) for i in range(2)]
    db.session.add_all(customers + [product] + banks)
    db.session.commit()
    return {"customers": customers, "product": product, "banks": banks, "today": today, "tag": tag}


def _row(world, n=0, **over):
    customer, bank = world["customers"][n % 2], world["banks"][n % 2]
    row = {"id_number": customer.id_number, "customer_name": customer.name, "product": world["product"].code,
           "bank": bank.name, "amount": 2_000_000, "term_months": 12, "fee_rate": "1.5%",
           "loan_number": f"JK-{world['tag']}-{n}", "loan_amount": 2_000_000,
           "loan_date": world["today"] - timedelta(days=90), "balance": 1_500_000, "purpose": "流动资金"}
    row.update(over)
    return row


def _workbook(client, rows) -> tuple[bytes, dict]:
    """The screen's template with `rows` filled in on its first sheet; also field -> column number."""
    template = client.get("/guaranteebackfill/template")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    book = openpyxl.load_workbook(io.BytesIO(template.data))
    sheet = book.worksheets[0]
    field_of = {label: field for field, label in _labels(client.app).items()}
    column_of = {field_of[str(c.value).rstrip("*")]: c.column for c in sheet[1]}
    for r, row in enumerate(rows, start=2):
        for fieldname, value in row.items():
            sheet.cell(row=r, column=column_of[fieldname], value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), column_of


def _upload(client, data, name="backfill.xlsx"):
    token = client.csrf("/guaranteebackfill/")
    return client.post("/guaranteebackfill/upload", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _count(db):
    db.session.rollback()
    return db.session.execute(select(func.count(Guarantee.id))).scalar()


def test_template_has_the_headers_an_example_and_the_products(db, world, login_as, app):
    risk = login_as(P.RISK_OFFICER)
    book = openpyxl.load_workbook(io.BytesIO(risk.get("/guaranteebackfill/template").data))
    labels = _labels(app)
    headers = [c.value for c in book.worksheets[0][1]]
    assert labels["id_number"] + "*" in headers and labels["amount"] + "*" in headers
    assert labels["due_date"] in headers  # optional: no *
    # (the Chinese of each header is checked by tests/unit/test_translations.py for every msgid)
    assert book.worksheets[0].max_row == 1  # the data sheet is empty: the example can never be imported
    example = book.worksheets[1]
    assert [c.value for c in example[1]] == headers and example.cell(row=2, column=2).value
    values = [c.value for column in book.worksheets[3].iter_cols() for c in column]
    assert world["product"].name in values and world["banks"][0].name in values


def test_backfill_puts_every_row_in_force_with_a_backfilled_history(db, world, login_as, app):
    risk = login_as(P.RISK_OFFICER)
    from app.services import banks as bank_service

    line_before = bank_service.line_usage(world["banks"][0])["used"]
    rows = [
        _row(world, 0),  # product by code, bank by name, rate as text with %, due date from the term
        _row(world, 1, product=world["product"].name, bank=world["banks"][1].code, fee_rate=0.02,
             due_date=world["today"] + timedelta(days=400), balance=None, code=f"OLD-{world['tag']}",
             repayment_method="equal_instalments"),
        _row(world, 2, amount=3_000_000, loan_amount=2_500_000, balance=2_500_000, manager_id="admin"),
    ]
    data, _ = _workbook(risk, rows)
    before = _count(db)
    imports = select(func.count(OperationLog.id)).where(OperationLog.action == "import")
    logs_before = db.session.execute(imports).scalar()
    response = _upload(risk, data)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert 'id="rows-imported">3<' in page, page[:3000]
    assert "6,000,000.00" in page  # the outstanding balance of the file: 1.5m + 2m + 2.5m
    assert _count(db) == before + 3
    found = db.session.execute(select(Guarantee).where(Guarantee.loan_number.like(f"JK-{world['tag']}-%"))
                               .order_by(Guarantee.loan_number)).scalars().all()
    assert len(found) == 3
    first, second, third = found
    for guarantee in found:  # the result page links every imported guarantee's page
        assert f'href="/guarantee/page/{guarantee.id}">{guarantee.code}</a>' in page
    for guarantee in found:
        assert guarantee.stage == "in_force" and guarantee.status == "active" and guarantee.backfilled
        assert guarantee.in_force and guarantee.code
        history = db.session.execute(select(StageHistory).where(StageHistory.guarantee_id == guarantee.id)
                                     ).scalars().all()
        assert len(history) == 1 and history[0].backfilled and history[0].to_stage == "in_force"
        assert history[0].action == "backfilled"
        # it came in force outside the system: no letters to download, no approval panel on its page
        from app.services import guarantees as svc

        assert not any(svc.document_available(guarantee, code) for code in svc.DOCUMENT_STAGES)
    assert first.customer_id == world["customers"][0].id and first.bank_id == world["banks"][0].id
    assert first.fee_rate == Decimal("0.015") and first.balance == Decimal("1500000.00")
    loan_date = world["today"] - timedelta(days=90)
    from app.services.guarantee_backfill import add_months

    assert first.due_date == add_months(loan_date, 12) and first.loan_date == loan_date
    assert second.code == f"OLD-{world['tag']}" and second.fee_rate == Decimal("0.02")
    assert second.balance == Decimal("2000000.00")  # blank balance: the loan amount
    assert second.due_date == world["today"] + timedelta(days=400) and second.bank_id == world["banks"][1].id
    assert second.repayment_method == "equal_instalments" and first.repayment_method is None
    admin_id = app.appbuilder.sm.find_user(username="admin").id
    assert third.manager_id == admin_id  # named in the file
    assert second.manager_id == world["customers"][1].manager_id  # blank: the customer's account manager
    risk_id = app.appbuilder.sm.find_user(username=ROLE_USERS[P.RISK_OFFICER]).id
    assert first.manager_id == risk_id  # blank, and the customer has none: whoever imports
    # the bank line now carries the backfilled balances (1.5m of row 2 and 2.5m of row 4 are at bank 0)
    assert bank_service.line_usage(world["banks"][0])["used"] == line_before + Decimal("4000000.00")
    logs = db.session.execute(imports).scalar()
    assert logs == logs_before + 1


def test_bad_rows_store_nothing_and_name_row_column_and_reason(db, world, login_as, app):
    risk = login_as(P.RISK_OFFICER)
    ok_data, _ = _workbook(risk, [_row(world, 0, code=f"DUP-{world['tag']}")])
    assert 'id="rows-imported">1<' in html.unescape(_upload(risk, ok_data).get_data(as_text=True))
    today = world["today"]
    rows = [
        _row(world, 10),                                                  # 2 fine
        _row(world, 11, id_number=_uscc()),                               # 3 unknown customer
        _row(world, 12, customer_name="别的公司"),                          # 4 name does not match
        _row(world, 13, product="没有的品种"),                              # 5 unknown product
        _row(world, 14, bank="没有的银行"),                                 # 6 unknown bank
        _row(world, 15, amount=20_000_000, loan_amount=1_000_000, balance=1_000_000),  # 7 above the product's range
        _row(world, 16, term_months=48),                                  # 8 term above the range
        _row(world, 17, fee_rate="abc"),                                  # 9 not a rate
        _row(world, 18, loan_amount=3_000_000),                           # 10 loan above the guarantee
        _row(world, 19, loan_date=today + timedelta(days=5)),             # 11 loan date in the future
        _row(world, 20, due_date=today - timedelta(days=200)),            # 12 due before the loan date
        _row(world, 21, loan_number=f"JK-{world['tag']}-10", bank=world["banks"][0].name),  # 13 same loan as row 2
        _row(world, 22, code=f"DUP-{world['tag']}"),                      # 14 number already in the database
        _row(world, 23, loan_number=f"JK-{world['tag']}-0"),              # 15 that loan number at another bank: fine
        _row(world, 24, loan_number=f"JK-{world['tag']}-0", id_number=world["customers"][0].id_number,
             customer_name=world["customers"][0].name),                   # 16 loan already in the database, bank 0
        _row(world, 25, amount="一百万"),                                   # 17 not an amount
        _row(world, 26, term_months=12.5),                                # 18 not a whole number
        _row(world, 27, balance=0),                                       # 19 nothing outstanding
        _row(world, 28, repayment_method="想还就还"),                        # 20 unknown repayment method
    ]
    data, column_of = _workbook(risk, rows)
    before = _count(db)
    response = _upload(risk, data)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert 'id="rows-imported">0<' in page
    assert _count(db) == before  # nothing written, not even row 2
    table = page[page.index('id="backfill-errors"'):]
    cells = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table)
    by_row = {}
    for row, label, message in cells:
        by_row.setdefault(int(row), []).append((label, message))
    labels = _labels(app)
    expected = {3: "id_number", 4: "customer_name", 5: "product", 6: "bank", 7: "amount", 8: "term_months",
                9: "fee_rate", 10: "loan_amount", 11: "loan_date", 12: "due_date", 13: "loan_number", 14: "code",
                16: "loan_number", 17: "amount", 18: "term_months", 19: "balance", 20: "repayment_method"}
    for row, fieldname in expected.items():
        label = labels[fieldname]
        assert row in by_row and label in [lab for lab, _ in by_row[row]], (row, by_row.get(row))
        assert all(message.strip() for _, message in by_row[row])
    assert 2 not in by_row and 15 not in by_row  # row 15's loan number belongs to another bank: allowed
    assert "没有的品种" in str(by_row[5]) and "10,000,000.00" in str(by_row[7])
    assert "2" in by_row[13][0][1]  # names the row of the first occurrence
    link = TOKEN_LINK.search(page)
    workbook = risk.get(link.group(1))
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data)).worksheets[0]
    marked = set()
    for line in sheet.iter_rows(min_row=2, max_col=len(column_of)):
        for cell in line:
            if cell.comment is not None:
                marked.add((cell.row, cell.column))
                assert str(cell.fill.fgColor.rgb).upper().endswith("FFC7CE")
    assert {(row, column_of[f]) for row, f in [(3, "id_number"), (5, "product"), (7, "amount"),
                                                (13, "loan_number"), (19, "balance")]} <= marked
    assert not any(r == 2 for r, _ in marked)
    assert risk.get(link.group(1).replace("/errors/", "/errors/999999")).status_code == 404


def test_not_a_workbook_or_wrong_headers_are_refused(db, world, login_as, app):
    risk = login_as(P.RISK_OFFICER)
    before = _count(db)
    for data in (b"\xd0\xcf\x11\xe0 an old xls", "a,b\n1,2\n".encode()):
        response = _upload(risk, data)
        assert response.status_code == 302
        page = html.unescape(risk.get(response.headers["Location"]).get_data(as_text=True))
        assert "xlsx" in page and "Traceback" not in page
    book = openpyxl.Workbook()
    book.active.append(["客户名称", "金额"])
    book.active.append(["某公司", 100])
    out = io.BytesIO()
    book.save(out)
    response = _upload(risk, out.getvalue())
    page = html.unescape(risk.get(response.headers["Location"]).get_data(as_text=True))
    labels = _labels(app)
    assert labels["id_number"] in page and labels["loan_date"] in page  # names the missing required columns
    empty, _ = _workbook(risk, [])  # the template as it comes: headers only
    response = _upload(risk, empty)
    assert response.status_code == 302
    page = html.unescape(risk.get(response.headers["Location"]).get_data(as_text=True))
    assert "alert-danger" in page and "Traceback" not in page
    assert _count(db) == before


def test_only_risk_officer_and_admin_may_backfill(db, world, login_as):
    for role in (P.ACCOUNT_MANAGER, P.AUDITOR, P.CASHIER):
        client = login_as(role)
        assert client.get("/guaranteebackfill/").status_code == 403
        assert client.get("/guaranteebackfill/template").status_code == 403
        token = client.csrf("/resetmypassword/form")
        response = client.post("/guaranteebackfill/upload", data={"csrf_token": token,
                                                                  "file": (io.BytesIO(b"x"), "a.xlsx")},
                               content_type="multipart/form-data")
        assert response.status_code == 403
    for role in (P.RISK_OFFICER, P.ADMIN):
        assert login_as(role).get("/guaranteebackfill/").status_code == 200
    # no CSRF token: refused before the file is read
    risk = login_as(P.RISK_OFFICER)
    before = _count(db)
    data, _ = _workbook(risk, [_row(world, 50)])
    response = risk.post("/guaranteebackfill/upload", data={"file": (io.BytesIO(data), "a.xlsx")},
                         content_type="multipart/form-data")
    assert response.status_code == 302 and _count(db) == before


def test_cli_backfills_or_writes_the_error_workbook(db, world, login_as, app, tmp_path):
    risk = login_as(P.RISK_OFFICER)
    good, _ = _workbook(risk, [_row(world, 40), _row(world, 41)])
    path = tmp_path / "good.xlsx"
    path.write_bytes(good)
    before = _count(db)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-guarantees", str(path), "--user", "admin"])
    assert result.exit_code == 0, result.output
    assert _count(db) == before + 2
    bad, _ = _workbook(risk, [_row(world, 42, bank="不存在")])
    bad_path = tmp_path / "bad.xlsx"
    bad_path.write_bytes(bad)
    result = runner.invoke(args=["import-guarantees", str(bad_path)])
    assert result.exit_code != 0
    assert (tmp_path / "bad.errors.xlsx").exists()
    assert _count(db) == before + 2


def test_demo_business_moves_applications_through_every_stage_with_real_history(db, app):
    """The demo loader: applications at every stage, moved by the service and the approval engine as the
    demo users; the portfolio in force across banks and products through the backfill service."""
    from app.services import demo_business as demo
    from models.approval import CommitteeMeeting
    from models.business import STAGES, FeeReceipt, StageDocument
    from models.customers import Customer
    from models.products import Product

    users = demo.ensure_users(app.appbuilder)
    tag = uuid.uuid4().hex[:6].upper()
    db.session.add_all([Customer(code=f"KD{tag}{i:02d}", kind="corporate", name=f"演示企业{tag}{i}有限公司",
                                 id_type="USCC", id_number=_uscc(), direct="direct",
                                 manager_id=users["manager1" if i % 2 else "manager2"],
                                 owner_id=users["manager1" if i % 2 else "manager2"]) for i in range(30)])
    db.session.commit()
    result = demo.load_demo_business(appbuilder=app.appbuilder)
    if not result.get("skipped"):  # else the browser tests' demo data (same loader) is already here: check that
        assert result["applications"] == len(demo.PIPELINE) + 2 and result["backfilled"] > 0
    product_ids = [p for p, in db.session.execute(select(Product.id).where(Product.code.in_(
        [code for code, *_ in demo.DEMO_PRODUCTS])))]
    items = db.session.execute(select(Guarantee).where(Guarantee.product_id.in_(product_ids))).scalars().all()
    active_stages = {g.stage for g in items if g.status == "active"}
    assert set(STAGES[:STAGES.index("in_force") + 1]) <= active_stages
    assert {g.status for g in items} >= {"active", "rejected", "withdrawn"}
    in_force = [g for g in items if g.in_force]
    assert len({g.bank_id for g in in_force}) >= 4 and len({g.product_id for g in in_force}) >= 3
    assert all(g.balance > 0 and g.loan_number for g in in_force)
    # one the demo moved (browser tests may have taken other applications of the demo products in force)
    walked = next(g for g in in_force if not g.backfilled and g.manager_id in (users["manager1"], users["manager2"]))
    actors = {h.user_id for h in walked.history}
    assert {users["manager1"], users["manager2"]} & actors and users["cashier"] in actors
    assert users["risk1"] in actors and users["gm"] in actors  # the approvals' deciding users
    moves = [h.to_stage for h in walked.history if h.from_stage != h.to_stage]
    assert moves == list(STAGES[1:STAGES.index("in_force") + 1])
    docs = {d.doc_type: d for d in db.session.execute(select(StageDocument).where(
        StageDocument.guarantee_id == walked.id)).scalars()}
    assert all(docs[t].number for t in ("intention_letter", "committee_resolution", "confirmation_letter",
                                         "loan_notice"))
    receipts = db.session.execute(select(FeeReceipt).where(FeeReceipt.guarantee_id == walked.id)).scalars().all()
    assert receipts and all(r.event_id for r in receipts)  # fee collection reached the ledger as events
    from app.services import approval

    committee = approval.instances_for("guarantee.committee", walked.id)[-1]
    meeting = db.session.execute(select(CommitteeMeeting).where(CommitteeMeeting.instance_id == committee.id)).scalar()
    assert meeting.status == "passed" and len(meeting.votes) == 3
    assert {v.member_id for v in meeting.votes} == {users["committee1"], users["committee2"], users["committee3"]}
    backfilled = [g for g in in_force if g.backfilled]
    # a backfilled guarantee has one backfill record (post-guarantee demo steps may add others)
    assert backfilled and all(sum(1 for h in g.history if h.backfilled) == 1 for g in backfilled)
    assert demo.load_demo_business(appbuilder=app.appbuilder) == {"skipped": True}  # once only
