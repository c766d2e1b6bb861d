"""融资担保机构主要数据月报表 on a small fixed portfolio (April 2069), figures computed by hand, narrowed to the
test's customers; the Excel file in the regulator's layout downloaded and opened."""
import io
from datetime import date
from decimal import Decimal

import pytest

from app import permissions as P
from app.errors import ValidationError
from reports.monthly_report_excel import titles
from tests.integration.test_business_ledgers import _compensate, _recover, keep_business_date  # noqa: F401
from tests.integration.test_compensation_support import in_force_guarantee, set_business_date, uid
from tests.integration.test_guarantees_support import make_customer, make_product

D = Decimal


def test_monthly_report_hand_computed(app, db, login_as):
    from openpyxl import load_workbook

    from app.services import monthly_report as mr, release

    set_business_date(db, date(2069, 4, 30))
    am = uid(P.ACCOUNT_MANAGER)
    a = make_customer(db, manager_id=am, enterprise_size="S")  # small enterprise
    b = make_customer(db, manager_id=am, kind="individual", household_type="2", name="测试农户")  # farmer
    c = make_customer(db, manager_id=am, enterprise_size="L")
    loan, bond, perf = make_product(db), make_product(db, guarantee_kind="bond"), \
        make_product(db, guarantee_kind="performance")
    mk = lambda cust, prod, amount, day: in_force_guarantee(db, amount=amount, loan_date=day, customer=cust,  # noqa
                                                            product=prod)
    mk(a, loan, "1000000.00", date(2069, 1, 15))
    mk(b, loan, "300000.00", date(2069, 4, 10))
    mk(c, bond, "5000000.00", date(2069, 4, 20))
    mk(c, perf, "200000.00", date(2069, 4, 5))
    g5 = mk(a, loan, "400000.00", date(2068, 10, 1))
    g6 = mk(c, loan, "600000.00", date(2068, 12, 1))
    release.release(g5.id, {"released_on": "2069-04-25", "bank_confirmation": "QR-5"}, uid(P.RISK_OFFICER))
    db.session.commit()
    comp = _compensate(db, g6, "250000.00", "10000.00", "2069-04-28")
    _recover(db, comp, "60000.00", "2069-04-29")

    ids = [a.id, b.id, c.id]
    r = mr.build(2069, 4, customer_ids=ids)
    cols = list(mr.COLUMNS)  # total, loan, bond, other, non_financing, small_micro, agricultural, individual

    def line(key):
        return [r.lines[key][k] for k in cols]

    assert line("new_amount") == [D(5500000), D(300000), D(5000000), 0, D(200000), 0, D(300000), D(300000)]
    assert line("new_count") == [3, 1, 1, 0, 1, 0, 1, 1]
    assert line("ytd_amount") == [D(6500000), D(1300000), D(5000000), 0, D(200000), D(1000000), D(300000),
                                  D(300000)]
    # g1 1,000,000 + g2 300,000 + g3 5,000,000 + g4 200,000 + g6 600,000 − 250,000 compensated; g5 released
    assert line("balance") == [D(6850000), D(1650000), D(5000000), 0, D(200000), D(1000000), D(300000), D(300000)]
    assert line("count") == [5, 3, 1, 0, 1, 1, 1, 1]
    assert line("customers") == [3, 3, 1, 0, 1, 1, 1, 1]
    assert line("released") == [D(400000), D(400000), 0, 0, 0, D(400000), 0, 0]
    assert line("compensated") == line("ytd_compensated") == [D(260000), D(260000), 0, 0, 0, 0, 0, 0]
    assert r.company["compensation_balance"] == D("200000.00")  # 260,000 − 60,000
    assert r.company["losses"] == D("0.00") and r.company["overdue"] == D("0.00")
    assert set(mr.RESERVE_CODES) <= set(r.company)
    # the month before: g5 not yet released, g6 not yet compensated, April's new business not yet lent
    march = mr.build(2069, 3, customer_ids=ids)
    assert march.lines["balance"]["total"] == D(2000000) and march.lines["count"]["total"] == 3
    assert march.lines["new_amount"]["total"] == 0 and march.lines["ytd_amount"]["total"] == D(1000000)

    gm = login_as(P.GENERAL_MANAGER)
    assert "line-balance" in gm.get("/monthlyreport/", query_string={"month": "2069-04"}).get_data(as_text=True)
    assert gm.get("/monthlyreport/", query_string={"month": "2069-13"}).status_code == 200
    response = gm.get("/monthlyreport/download", query_string={"month": "2069-04"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.cell(4, 3).value == str(mr.COLUMNS["total"]) and sheet.cell(5, 2).value == 1
    assert sheet.cell(8, 3).number_format == "#,##0.00"  # company-wide figures: at least this portfolio
    assert sheet.cell(8, 3).value >= 6850000
    assert login_as(P.CASHIER).get("/monthlyreport/").status_code in (302, 403)

    # quarterly and annual reports on the same portfolio: nothing happens after April, so Q2 = Q1's balances
    # rolled by April's flows and the year's flows = April's year to date; balances as at the period's end
    q2 = mr.build_period(mr.parse_period("2069-q2"), customer_ids=ids)
    assert (q2.start, q2.end, q2.kind) == (date(2069, 4, 1), date(2069, 6, 30), "quarter")
    for key in ("new_amount", "new_count", "ytd_amount", "balance", "count", "customers", "released",
                "compensated", "ytd_compensated"):
        assert q2.lines[key] == r.lines[key], key
    assert q2.company["compensation_balance"] == D("200000.00")
    q1 = mr.build_period(mr.Period("quarter", 2069, 1), customer_ids=ids)  # g1 lent on 15 January only
    assert line_of(q1, "new_amount") == [D(1000000), D(1000000), 0, 0, 0, D(1000000), 0, 0]
    assert q1.lines["new_count"]["total"] == 1 and q1.lines["balance"] == march.lines["balance"]
    assert q1.lines["released"]["total"] == q1.lines["compensated"]["total"] == 0
    year = mr.build_period(mr.parse_period("2069"), customer_ids=ids)
    assert (year.start, year.end) == (date(2069, 1, 1), date(2069, 12, 31))
    assert year.lines["new_amount"] == year.lines["ytd_amount"] == r.lines["ytd_amount"]  # g1-g4: 6,500,000
    assert line_of(year, "new_count") == [4, 2, 1, 0, 1, 1, 1, 1]
    assert year.lines["balance"] == r.lines["balance"] and year.lines["count"] == r.lines["count"]
    assert year.lines["released"] == r.lines["released"] and year.lines["compensated"] == r.lines["compensated"]
    assert mr.build_period(mr.Period("year", 2068), customer_ids=ids).lines["balance"]["total"] == D(1000000)
    for bad in ("2069-Q5", "69", "2069-13", "abc"):
        with pytest.raises(ValidationError):
            mr.parse_period(bad)

    page = gm.get("/monthlyreport/", query_string={"period": "2069-Q2"}).get_data(as_text=True)
    assert 'id="report-title"' in page and 'value="2069-Q2" selected' in page
    assert "line-balance" in gm.get("/monthlyreport/", query_string={"period": "2069"}).get_data(as_text=True)
    assert gm.get("/monthlyreport/", query_string={"period": "2069-Q9"}).status_code == 200
    for code, kind in (("2069-Q2", "quarter"), ("2069", "year")):
        response = gm.get("/monthlyreport/download", query_string={"period": code})
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.data)).active
        expected = titles(mr.Report(2069, 12, None, None, {}, {}, mr.parse_period(code)))
        assert sheet.cell(1, 1).value == expected[1] and sheet.cell(2, 4).value == expected[2]
        assert sheet.cell(5, 1).value == str(dict(mr.line_labels(kind)[0])["new_amount"])
        assert sheet.cell(8, 3).value >= 6850000


def line_of(report, key):
    from app.services import monthly_report as mr

    return [report.lines[key][k] for k in mr.COLUMNS]
