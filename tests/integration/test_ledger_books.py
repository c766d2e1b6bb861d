"""Books (账簿) and statements: screens, drill-down, statement-line validation, Excel and PDF exports.
Year 1971 (see ledger_helpers)."""
import io
from datetime import date
from decimal import Decimal as D

import pytest

from app import permissions as P
from app.errors import ValidationError
from tests.integration import ledger_helpers as H

YEAR = 1971


@pytest.fixture(scope="module")
def books(app):
    with app.app_context():
        H.set_setting("gl_guarantee_balance", D("0"))
        cust = H.customer("丁books客户")
        bank = {"bank_account": "农行 9"}
        H.post(date(YEAR, 1, 4), [H.line("1002", 5000, **bank), H.line("4001", credit=5000)], "投资", "shou")
        H.post(date(YEAR, 1, 9), [H.line("1002", D("1234.56"), **bank),
                                  H.line("6001", credit=D("1234.56"), customer_id=cust, project_code="B71")],
               "担保费", "shou")
        H.post(date(YEAR, 2, 3), [H.line("660202", 100, department_id=H.department_id()),
                                  H.line("1002", credit=100, **bank)], "办公费", "fu")
        H.close(YEAR, 1)
        yield {"customer": cust}
        H.close_all_open(YEAR)


def test_opening_of_a_month_is_the_closing_of_the_one_before(db, books):
    from app.services.ledger_books import trial_balance

    jan = {r.code: r for r in trial_balance((YEAR, 1)) if r.kind == "account"}
    feb = {r.code: r for r in trial_balance((YEAR, 2)) if r.kind == "account"}
    assert feb["1002"].opening == jan["1002"].closing
    assert feb["1002"].credit == D("100.00")
    both = {r.code: r for r in trial_balance((YEAR, 1), (YEAR, 2)) if r.kind == "account"}
    assert both["1002"].closing == feb["1002"].closing
    total = trial_balance((YEAR, 2))[-1]
    assert total.debit == total.credit and total.closing_debit == total.closing_credit


def test_general_and_detail_ledger_and_journal(db, books):
    from app.services.ledger_books import detail_ledger, general_ledger, journal

    gl = [r for r in general_ledger((YEAR, 1), (YEAR, 2), level=1) if r.code == "1002"]
    assert [r.kind for r in gl] == ["opening", "month", "year", "month", "year"]
    assert gl[1].debit == D("6234.56") and gl[3].credit == D("100.00") and gl[4].debit == D("6234.56")
    assert gl[-1].balance == gl[0].balance + D("6134.56")
    rows = list(detail_ledger((YEAR, 1), (YEAR, 2), "1002"))
    lines = [r for r in rows if r.kind == "line"]
    assert [r.summary for r in lines] == ["投资", "担保费", "办公费"]
    assert lines[-1].balance == gl[-1].balance and all(r.voucher_id for r in lines)
    by_customer = [r for r in detail_ledger((YEAR, 1), None, "6001", "customer", str(books["customer"]))
                   if r.kind == "line"]
    assert {r.aux for r in by_customer} == {"丁books客户"} and len(by_customer) == 2  # the fee and its carry forward
    entries = list(journal((YEAR, 2)))
    assert [e["code"] for e in entries] == ["660202", "1002"]


def test_book_screens_and_drill_down(db, books, login_as):
    web = login_as(P.ACCOUNTANT)
    page = web.get(f"/ledgerbooks/trial_balance/?start={YEAR}-01&level=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "6,234.56" in html
    assert f"/ledgerbooks/detail_ledger/?start={YEAR}-01" in html  # drill-down link
    detail = web.get(f"/ledgerbooks/detail_ledger/?start={YEAR}-01&end={YEAR}-02&account=1002")
    assert detail.status_code == 200 and "/voucherview/show/" in detail.get_data(as_text=True)
    for book in ("general_ledger", "journal", "balance_sheet", "income_statement"):
        assert web.get(f"/ledgerbooks/{book}/?start={YEAR}-01").status_code == 200, book
    summary = web.get(f"/ledgerbooks/account_summary/?date_from={YEAR}-01-01&date_to={YEAR}-02-28")
    assert summary.status_code == 200 and "6,234.56" in summary.get_data(as_text=True)
    assert web.get("/ledgerbooks/trial_balance/?start=garbage").status_code == 200  # a message, not an error
    assert login_as(P.ACCOUNT_MANAGER).get("/ledgerbooks/trial_balance/").status_code == 403
    assert login_as(P.AUDITOR).get(f"/ledgerbooks/export/trial_balance/?start={YEAR}-01").status_code == 200


def test_excel_export_keeps_outline_bold_totals_formats_and_print_setup(db, books, login_as):
    import openpyxl

    web = login_as(P.GENERAL_MANAGER)
    response = web.get(f"/ledgerbooks/export/trial_balance/?start={YEAR}-01&end={YEAR}-02")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    ws = wb.active
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToHeight == 0 and ws.page_setup.fitToWidth in (None, 1)  # 1 page wide (1 is the default)
    assert "&C" in ws.oddHeader.center.text or ws.oddHeader.center.text
    rows = {ws.cell(r, 1).value: r for r in range(4, ws.max_row + 1)}
    assert ws.row_dimensions[rows["224101"] if "224101" in rows else rows["660202"]].outline_level == 1
    assert ws.cell(rows["1002"], 3).number_format == "#,##0.00"
    assert ws.cell(rows["6602"], 2).font.b  # a parent account is bold
    total_row = ws.max_row
    assert ws.cell(total_row, 2).value in ("Total", "合计") and ws.cell(total_row, 5).font.b
    assert ws.cell(total_row, 5).value == ws.cell(total_row, 6).value  # debits = credits
    assert ws.cell(rows["660202"], 2).alignment.indent == 1


def test_statement_and_detail_exports(db, books, login_as):
    import openpyxl

    web = login_as(P.ACCOUNTANT)
    for book in ("balance_sheet", "income_statement", "general_ledger", "journal", "account_summary"):
        response = web.get(f"/ledgerbooks/export/{book}/?start={YEAR}-02&date_from={YEAR}-01-01&date_to={YEAR}-12-31")
        assert response.status_code == 200, book
        ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
        assert ws.max_row > 3, book
    response = web.get(f"/ledgerbooks/export/detail_ledger/?start={YEAR}-01&end={YEAR}-02&account=1002")
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    levels = {ws.row_dimensions[r].outline_level for r in range(4, ws.max_row + 1)}
    assert levels == {0, 1}  # voucher lines grouped under their account's opening and totals
    bs = openpyxl.load_workbook(io.BytesIO(web.get(f"/ledgerbooks/export/balance_sheet/?start={YEAR}-02").data)).active
    names = [bs.cell(r, 1).value for r in range(4, bs.max_row + 1)]
    assert "资产总计" in names and bs.cell(4, 5).value == "短期借款"


def test_pdf_export(db, books, login_as):
    web = login_as(P.ACCOUNTANT)
    for book in ("trial_balance", "balance_sheet"):  # each PDF loads the CJK font: seconds
        response = web.get(f"/ledgerbooks/export/{book}/?start={YEAR}-01&account=1002&format=pdf")
        assert response.status_code == 200 and response.data.startswith(b"%PDF"), book
        assert b"/Type /Page" in response.data


def test_large_book_exports_in_the_background(db, books, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_ASYNC_THRESHOLD", 1)
    web = login_as(P.ACCOUNTANT)
    response = web.get(f"/ledgerbooks/export/journal/?start={YEAR}-01&end={YEAR}-02")
    assert response.status_code == 302 and "/exportjobview/progress/" in response.headers["Location"]
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    status = web.get(f"/exportjobview/status/{job_id}").get_json()
    assert status["status"] == "done"
    assert web.get(status["url"]).status_code == 200


def test_report_line_formulas_are_validated(db, books, login_as):
    from app.services.ledger_books import validate_report_line
    from models.ledger import ReportLine

    good = ReportLine(report="income_statement", line_no=90, name="x", formula="+6001,-6501")
    validate_report_line(good)
    for formula, field in (("+9999", "formula"), ("1001;1002", "formula"), ("=L1+X", "formula"),
                           ("=L999", "formula")):
        with pytest.raises(ValidationError) as ex:
            validate_report_line(ReportLine(report="balance_sheet", line_no=91, name="x", formula=formula))
        assert ex.value.field == field
    with pytest.raises(ValidationError):  # a line that sums itself through another
        existing = db.session.query(ReportLine).filter_by(report="balance_sheet", line_no=9).one()
        existing.formula = "=L17"
        validate_report_line(existing)
    db.session.rollback()
    web = login_as(P.ACCOUNTANT)
    page = web.post_form("/reportlineview/add", {"report": "balance_sheet", "line_no": "92", "name": "坏行",
                                                 "section": "asset", "formula": "+99x"})
    assert page.status_code == 200 and "1001" in page.get_data(as_text=True)  # the form again, with the hint
    assert db.session.query(ReportLine).filter_by(line_no=92).count() == 0
