"""CUS-2: corporate customers' financial statements, through the real screens (login, CSRF, upload).

A balanced statement is saved and read back by item code (the rating engine's entry point); an
unbalanced one or one whose stated subtotal is not the sum of its items is refused with the line and
the figures at fault, and nothing is written; the Excel template round-trips; a renamed non-xlsx file
is refused; individual customers have no statements; roles without edit cannot enter any.
"""
import html
import io
import itertools
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select
from stdnum.cn import ric, uscc

from app import permissions as P
from app.services import statements as S
from models.customer_finance import FinancialStatement, FinancialStatementItem
from models.customers import Customer

_seq = itertools.count(1)

BALANCED = {  # a small company, 元: assets 1,000,000 = liabilities 400,000 + equity 600,000
    "cash": "200,000.00", "accounts_receivable": "300000", "inventories": "100000",
    "total_current_assets": "600000",
    "fixed_assets_cost": "500000", "accumulated_depreciation": "100000",
    "total_non_current_assets": "400000", "total_assets": "1000000",
    "short_term_loans": "250000", "accounts_payable": "150000", "total_current_liabilities": "400000",
    "total_liabilities": "400000", "paid_in_capital": "500000", "undistributed_profit": "100000",
    "total_equity": "600000", "total_liabilities_and_equity": "1000000",
    "revenue": "2000000", "cost_of_sales": "1500000", "admin_expenses": "200000", "finance_expenses": "50000",
    "income_tax": "62500",
}


def _corporate(db):
    n = next(_seq) + int(date.today().strftime("%j")) * 1000 + 700000
    body = "91330100" + f"{n:09d}"[-9:]
    customer = Customer(kind="corporate", name=f"测试财报企业{n}", id_type="USCC", id_number=body + uscc.calc_check_digit(body),
                        code=f"TS{n:010d}", direct="direct")
    db.session.add(customer)
    db.session.commit()
    return customer.id


def _individual(db):
    n = next(_seq)
    body = f"33010619800101{n % 1000:03d}"
    customer = Customer(kind="individual", name="个人客户", id_type="RIC", id_number=body + ric.calc_check_digit(body + "0"),
                        code=f"TI{n:06d}{date.today():%j}", direct="direct")
    db.session.add(customer)
    db.session.commit()
    return customer.id


def _form(values, period_end="2025-12-31", period_type="annual", **header):
    data = {f"v_{code}": value for code, value in values.items()}
    data.update(period_end=period_end, period_type=period_type, **header)
    return data


def _count(db, customer_id):
    db.session.rollback()
    return db.session.execute(select(func.count(FinancialStatement.id))
                              .where(FinancialStatement.customer_id == customer_id)).scalar()


def _page(response):
    return html.unescape(response.get_data(as_text=True))


def test_balanced_statement_is_saved_and_read_by_item_code(db, admin_web):
    customer_id = _corporate(db)
    url = f"/financialstatementview/entry/{customer_id}"
    response = admin_web.post_form(url, _form(BALANCED, audited="1", auditor="天健会计师事务所"))
    assert response.status_code == 302, _page(response)[:2000]
    values = S.statement_values(customer_id)
    assert values["total_assets"] == Decimal("1000000.00")
    assert values["cash"] == Decimal("200000.00")  # thousands separators accepted
    assert values["fixed_assets_net"] == Decimal("400000.00")  # blank subtotal computed: 500,000 − 100,000
    assert values["operating_profit"] == Decimal("250000.00")
    assert values["net_profit"] == Decimal("187500.00")
    history = S.statement_history(customer_id, 3)
    assert len(history) == 1 and history[0].audited and history[0].period_type == "annual"
    # the statement page shows the figures in the grid
    show = admin_web.get(response.headers["Location"])
    assert show.status_code == 200 and "1,000,000.00" in _page(show)


def test_unbalanced_statement_is_refused_with_line_and_figures_and_nothing_written(db, admin_web):
    customer_id = _corporate(db)
    values = dict(BALANCED, total_liabilities_and_equity="990000", total_equity="590000", undistributed_profit="90000")
    response = admin_web.post_form(f"/financialstatementview/entry/{customer_id}", _form(values))
    page = _page(response)
    assert response.status_code == 200
    assert "1,000,000.00 ≠" in page and "990,000.00" in page
    line = S.ITEM_BY_CODE["total_assets"].line
    assert any(f"{word} {line}" in page or f"第 {line} 行" in page for word in ("line", "Line"))
    assert _count(db, customer_id) == 0
    # the user's input is still in the form
    assert 'value="990000"' in page


def test_subtotal_that_is_not_the_sum_of_its_items_is_refused(db, admin_web):
    customer_id = _corporate(db)
    values = dict(BALANCED, total_current_assets="610000")  # items add up to 600,000
    response = admin_web.post_form(f"/financialstatementview/entry/{customer_id}", _form(values))
    page = _page(response)
    assert response.status_code == 200
    assert "610,000.00 ≠" in page and "600,000.00" in page
    assert _count(db, customer_id) == 0


def test_tolerance_is_a_setting(db, admin_web):
    from app.services import settings

    customer_id = _corporate(db)
    values = dict(BALANCED, total_liabilities_and_equity="1000000.80", total_equity="600000.80",
                  undistributed_profit="100000.80")
    assert admin_web.post_form(f"/financialstatementview/entry/{customer_id}", _form(values)).status_code == 302
    settings.set_value("statement_balance_tolerance", Decimal("0.50"))
    db.session.commit()
    try:
        response = admin_web.post_form(f"/financialstatementview/entry/{customer_id}",
                                       _form(values, period_end="2024-12-31"))
        assert response.status_code == 200 and "1,000,000.80" in _page(response)
    finally:
        settings.set_value("statement_balance_tolerance", Decimal("1.00"))
        db.session.commit()


def test_period_end_must_fit_the_period_type_and_a_period_is_entered_once(db, admin_web):
    customer_id = _corporate(db)
    url = f"/financialstatementview/entry/{customer_id}"
    response = admin_web.post_form(url, _form(BALANCED, period_end="2025-06-30", period_type="annual"))
    assert response.status_code == 200 and _count(db, customer_id) == 0
    assert admin_web.post_form(url, _form(BALANCED, period_end="2025-06-30", period_type="half")).status_code == 302
    again = admin_web.post_form(url, _form(BALANCED, period_end="2025-06-30", period_type="half"))
    assert again.status_code == 200 and _count(db, customer_id) == 1


def test_only_corporate_customers_have_statements(db, admin_web, app):
    customer_id = _individual(db)
    response = admin_web.get(f"/financialstatementview/entry/{customer_id}")
    assert response.status_code == 400
    from app.errors import ValidationError

    with pytest.raises(ValidationError):
        S.save_statement(customer_id, S.StatementInput(date(2025, 12, 31), "annual", values={"cash": Decimal(1)}))
    db.session.rollback()


def _upload(client, customer_id, data, name="statement.xlsx"):
    token = client.csrf(f"/financialstatementview/entry/{customer_id}")
    return client.post(f"/financialstatementview/upload/{customer_id}",
                       data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _fill_template(template: bytes, values: dict, period_end=date(2025, 12, 31), period_label=None) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(template))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            key = row[3].value if len(row) > 3 else None
            if key in values:
                row[2].value = float(str(values[key]).replace(",", ""))
            elif key == "period_end":
                row[1].value = period_end
            elif key == "period_type" and period_label:
                row[1].value = period_label
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_template_round_trip_fills_and_replaces_the_period(db, admin_web):
    customer_id = _corporate(db)
    template = admin_web.get(f"/financialstatementview/template/{customer_id}")
    assert template.status_code == 200
    assert template.data[:2] == b"PK"
    filled = _fill_template(template.data, BALANCED)
    response = _upload(admin_web, customer_id, filled)
    assert response.status_code == 302 and "/show/" in response.headers["Location"], response.headers["Location"]
    values = S.statement_values(customer_id, date(2025, 12, 31))
    assert values["total_assets"] == Decimal("1000000.00") and values["revenue"] == Decimal("2000000.00")
    # a second upload of the same period replaces its figures
    changed = dict(BALANCED, cash="210000", total_current_assets="610000", total_assets="1010000",
                   undistributed_profit="110000", total_equity="610000", total_liabilities_and_equity="1010000")
    assert _upload(admin_web, customer_id, _fill_template(template.data, changed)).status_code == 302
    assert _count(db, customer_id) == 1
    assert S.statement_values(customer_id)["cash"] == Decimal("210000.00")


def test_unbalanced_upload_names_the_sheet_row_and_figures_and_writes_nothing(db, admin_web):
    customer_id = _corporate(db)
    template = admin_web.get(f"/financialstatementview/template/{customer_id}").data
    values = dict(BALANCED, total_liabilities_and_equity="990000", total_equity="590000", undistributed_profit="90000")
    response = _upload(admin_web, customer_id, _fill_template(template, values))
    assert response.status_code == 302 and "/entry/" in response.headers["Location"]
    page = _page(admin_web.get(response.headers["Location"]))
    assert "1,000,000.00 ≠" in page and "990,000.00" in page
    from reports.statement_template import FIRST_ITEM_ROW

    excel_row = FIRST_ITEM_ROW + [i.code for i in S.ASSET_ITEMS + S.CLAIM_ITEMS].index("total_assets") + 1
    assert str(excel_row) in page
    assert _count(db, customer_id) == 0


def test_a_renamed_file_that_is_not_xlsx_is_refused(db, admin_web):
    customer_id = _corporate(db)
    for data in (b"name,amount\ncash,1\n", b"PK\x03\x04 not really a zip", b"\xd0\xcf\x11\xe0 old xls"):
        response = _upload(admin_web, customer_id, data, "statement.xlsx")
        assert response.status_code == 302
        page = _page(admin_web.get(response.headers["Location"]))
        assert "xlsx" in page
        assert "Traceback" not in page and "BadZipFile" not in page
    assert _count(db, customer_id) == 0


def test_roles_without_customer_edit_cannot_enter_or_upload(db, login_as, app):
    customer_id = _corporate(db)
    risk = login_as(P.RISK_OFFICER)  # reads and exports customers, edits none
    assert risk.get(f"/financialstatementview/entry/{customer_id}").status_code == 403
    assert risk.get(f"/financialstatementview/template/{customer_id}").status_code == 200
    token = risk.csrf("/customerview/list/")
    response = risk.post(f"/financialstatementview/upload/{customer_id}",
                         data={"csrf_token": token, "file": (io.BytesIO(b"x"), "a.xlsx")},
                         content_type="multipart/form-data")
    assert response.status_code == 403
    manager = login_as(P.ACCOUNT_MANAGER)
    assert manager.get(f"/financialstatementview/entry/{customer_id}").status_code in (200, 404)  # scope: own


def test_statement_history_is_latest_first(db):
    customer_id = _corporate(db)
    for year in (2022, 2023, 2024):
        S.save_statement(customer_id, S.StatementInput(date(year, 12, 31), "annual", values={
            "cash": Decimal(year), "total_assets": Decimal(year), "paid_in_capital": Decimal(year)}))
    S.save_statement(customer_id, S.StatementInput(date(2024, 12, 31), "quarter", values={"revenue": Decimal(5)}))
    db.session.commit()
    history = S.statement_history(customer_id, 2)
    assert [(h.period_end.year, h.period_type) for h in history] == [(2024, "annual"), (2024, "quarter")]
    assert [h.period_end.year for h in S.statement_history(customer_id, 5, "annual")] == [2024, 2023, 2022]
    assert S.statement_values(customer_id, date(2023, 12, 31))["cash"] == Decimal("2023.00")
    assert S.statement_values(customer_id)["total_liabilities_and_equity"] == Decimal("2024.00")
    rows = db.session.execute(select(func.count(FinancialStatementItem.id))).scalar()
    assert rows > 0


def test_demo_statements_pass_the_statement_checks(app):
    """The demo generator's figures meet the same checks as a typed statement, across many companies."""
    import random
    from decimal import Decimal

    from app.services.demo_customers import _statement_figures
    from app.services.statements import check_values

    rng = random.Random(7)
    with app.app_context():
        for _ in range(300):
            scale = Decimal(rng.choice([300, 800, 1500, 3000, 6000])) * 10000
            values = check_values(_statement_figures(rng, scale))
            assert values["total_assets"] == values["total_liabilities_and_equity"] == scale
            assert values["net_profit"] == values["total_profit"] - values["income_tax"]
