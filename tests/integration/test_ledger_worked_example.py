"""A small guarantee company's first month (January 1950, a year no other test uses), closed at the
default rates, against figures computed by hand.

The month (all through the bank account 1002):
  1. capital paid in                         Dr 1002 10,000,000.00 / Cr 4001 10,000,000.00
  2. guarantee fees: A 800,000.00, B 400,000  Dr 1002 1,200,000.00 / Cr 6001 (per customer/project)
  3. margin deposit from A                   Dr 1002 2,000,000.00 / Cr 224101 2,000,000.00
  4. compensation paid for B                 Dr 1131 800,000.00 / Cr 1002 800,000.00
  5. partial recovery from B                 Dr 1002 300,000.00 / Cr 1131 300,000.00
  6. salaries 120,000.00, office 30,000.00   Dr 660201 / 660202 / Cr 1002 150,000.00
  7. bank charges 1,250.00                   Dr 660302 / Cr 1002 1,250.00
  8. bank interest earned 12,345.67          Dr 1002 / Cr 660301 12,345.67
Guarantee balance at month end (setting): 20,000,000.00.

Close at the default rates:
  unearned reserve      50% × 1,200,000.00          = 600,000.00  (Dr 6501 / Cr 2601)
  compensation reserve   1% × 20,000,000.00         = 200,000.00  (Dr 6502 / Cr 2602)
  profit = 1,200,000 − 600,000 − 200,000 − 150,000 − 1,250 + 12,345.67 = 261,095.67 → Cr 4103

Bank 1002: 10,000,000 + 1,200,000 + 2,000,000 − 800,000 + 300,000 − 150,000 − 1,250 + 12,345.67
         = 12,561,095.67 (debit 13,512,345.67, credit 951,250.00)
Receivable 1131: 800,000 − 300,000 = 500,000.00
Assets 13,061,095.67 = liabilities 2,800,000.00 (2,000,000 + 600,000 + 200,000)
                     + equity 10,261,095.67 (10,000,000 + 261,095.67)
Trial balance period totals: debit = credit = 16,475,941.34
  (debits: 1002 13,512,345.67 + 1131 800,000 + 6001 1,200,000 + 6501 600,000 + 6502 200,000 + 6602 150,000
   + 6603 13,595.67 [1,250 + carry forward 12,345.67])
"""
from datetime import date
from decimal import Decimal as D

import pytest

from tests.integration import ledger_helpers as H

YEAR = 1950


@pytest.fixture(scope="module")
def month(app):
    from app.extensions import db

    with app.app_context():
        H.set_setting("gl_guarantee_balance", D("20000000.00"))
        H.set_setting("gl_guarantee_balance_account", "")
        a, b = H.customer("甲科技有限公司"), H.customer("乙贸易有限公司")
        dept = H.department_id()
        bank = {"bank_account": "工行 6222-0001"}
        d = lambda day: date(YEAR, 1, day)  # noqa: E731
        H.post(d(3), [H.line("1002", 10_000_000, **bank), H.line("4001", credit=10_000_000)], "收到股东投资款",
               "shou")
        H.post(d(8), [H.line("1002", 1_200_000, **bank),
                      H.line("6001", credit=800_000, customer_id=a, project_code="DB1950-001"),
                      H.line("6001", credit=400_000, customer_id=b, project_code="DB1950-002")], "收担保费", "shou")
        H.post(d(9), [H.line("1002", 2_000_000, **bank),
                      H.line("224101", credit=2_000_000, customer_id=a, project_code="DB1950-001")], "收存入保证金",
               "shou")
        H.post(d(15), [H.line("1131", 800_000, customer_id=b, project_code="DB1950-002"),
                       H.line("1002", credit=800_000, **bank)], "为乙代偿", "fu")
        H.post(d(25), [H.line("1002", 300_000, **bank),
                       H.line("1131", credit=300_000, customer_id=b, project_code="DB1950-002")], "收回追偿款", "shou")
        H.post(d(28), [H.line("660201", 120_000, department_id=dept), H.line("660202", 30_000, department_id=dept),
                       H.line("1002", credit=150_000, **bank)], "发放工资及办公费", "fu")
        H.post(d(30), [H.line("660302", 1_250), H.line("1002", credit=1_250, **bank)], "银行手续费", "fu")
        H.post(d(31), [H.line("1002", D("12345.67"), **bank), H.line("660301", credit=D("12345.67"))], "利息收入",
               "shou")
        result = H.close(YEAR, 1)
        db.session.commit()
        yield result
        H.close_all_open(YEAR)


def _by_code(rows):
    return {r.code: r for r in rows if r.kind == "account"}


def test_close_made_the_accrual_and_carry_forward_vouchers(db, month):
    from models.ledger import Period, Voucher

    assert len(month.vouchers) == 3  # two accruals and the carry forward (not December: no year-end voucher)
    vouchers = [db.session.get(Voucher, i) for i in month.vouchers]
    assert [v.source for v in vouchers] == ["accrual", "accrual", "carry_forward"]
    assert [v.total_debit for v in vouchers[:2]] == [D("600000.00"), D("200000.00")]
    assert all(v.status == "posted" and v.hash and v.voucher_date == date(YEAR, 1, 31) for v in vouchers)
    assert db.session.get(Period, vouchers[0].period_id).status == "closed"


def test_trial_balance_after_close(db, month):
    from app.services.ledger_books import trial_balance

    rows = trial_balance((YEAR, 1), level=1)
    tb = _by_code(rows)
    expected = {  # code: (period debit, period credit, closing debit, closing credit)
        "1002": ("13512345.67", "951250.00", "12561095.67", "0"),
        "1131": ("800000.00", "300000.00", "500000.00", "0"),
        "2241": ("0", "2000000.00", "0", "2000000.00"),
        "2601": ("0", "600000.00", "0", "600000.00"),
        "2602": ("0", "200000.00", "0", "200000.00"),
        "4001": ("0", "10000000.00", "0", "10000000.00"),
        "4103": ("0", "261095.67", "0", "261095.67"),
        "6001": ("1200000.00", "1200000.00", "0", "0"),
        "6501": ("600000.00", "600000.00", "0", "0"),
        "6502": ("200000.00", "200000.00", "0", "0"),
        "6602": ("150000.00", "150000.00", "0", "0"),
        "6603": ("13595.67", "13595.67", "0", "0"),
    }
    assert set(tb) == set(expected)
    for code, (debit, credit, closing_debit, closing_credit) in expected.items():
        row = tb[code]
        assert (row.opening, row.debit, row.credit, row.closing_debit, row.closing_credit) == (
            0, D(debit), D(credit), D(closing_debit), D(closing_credit)), code
    total = rows[-1]
    assert total.kind == "total"
    assert total.debit == total.credit == D("16475941.34")
    assert total.closing_debit == total.closing_credit == D("13061095.67")
    # second level: the parents roll up their children
    detail = _by_code(trial_balance((YEAR, 1), level=2))
    assert detail["224101"].credit == D("2000000.00") and detail["660201"].debit == D("120000.00")
    assert detail["6602"].debit == detail["660201"].debit + detail["660202"].debit


def test_trial_balance_by_customer(db, month):
    from app.services.ledger_books import trial_balance

    rows = trial_balance((YEAR, 1), aux="customer", account_prefix="6001")
    aux = {r.aux: r for r in rows if r.kind == "aux"}
    assert {k: (v.debit, v.credit) for k, v in aux.items()} == {
        "甲科技有限公司": (D("800000.00"), D("800000.00")), "乙贸易有限公司": (D("400000.00"), D("400000.00"))}


def test_income_statement(db, month):
    from app.services.ledger_books import income_statement

    lines = {ln.line_no: ln.values for ln in income_statement((YEAR, 1))["lines"]}
    assert lines[1] == [D("1200000.00")] * 2  # 营业收入 (current period = year to date in January)
    assert lines[4][0] == D("600000.00") and lines[5][0] == D("200000.00")
    assert lines[7][0] == D("150000.00")
    assert lines[8][0] == D("-11095.67")  # 财务费用: 1,250.00 − 12,345.67
    assert lines[11][0] == lines[14][0] == lines[16][0] == D("261095.67")


def test_balance_sheet(db, month):
    from app.services.ledger_books import balance_sheet

    sheet = balance_sheet((YEAR, 1))
    lines = {ln.line_no: ln.values for ln in sheet["lines"]}
    assert lines[1] == [D("12561095.67"), D("0")]  # 货币资金, year-opening 0
    assert lines[6][0] == D("500000.00")  # 应收代偿款
    assert lines[9][0] == lines[17][0] == D("13061095.67")  # 流动资产合计, 资产总计
    assert lines[26][0] == D("2000000.00")  # 存入保证金
    assert (lines[28][0], lines[29][0], lines[30][0]) == (D("600000.00"), D("200000.00"), D("2800000.00"))
    assert (lines[31][0], lines[35][0], lines[36][0]) == (D("10000000.00"), D("261095.67"), D("10261095.67"))
    assert lines[37][0] == lines[17][0]  # 负债和所有者权益总计 = 资产总计
    assert [ln.line_no for ln in sheet["left"]][0] == 1 and sheet["right"][0].line_no == 21


def test_close_again_is_a_no_op(db, month):
    from models.ledger import Voucher
    from sqlalchemy import func, select

    before = db.session.execute(select(func.count(Voucher.id))).scalar()
    again = H.close(YEAR, 1)
    assert again.already_closed and again.vouchers == []
    assert db.session.execute(select(func.count(Voucher.id))).scalar() == before
