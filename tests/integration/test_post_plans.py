"""Repayment plans (POST-4): each method hand-computed, regeneration, import from Excel, repayments, overdue
days across the National Day holiday with the product's working-day rule."""
import io
from datetime import date
from decimal import Decimal as D

import pytest

from app.errors import ValidationError
from tests.integration.test_post_support import business_day, in_force, warnings_of
from tests.integration.test_guarantees_support import make_product


def _svc():
    from app.services import repayment_plans

    return repayment_plans


START = date(2031, 1, 31)  # month ends: 28 Feb, 31 Mar, 30 Apr


def test_annuity_hand_computed():
    rows = _svc().schedule("annuity", start=START, months=3, principal="12000", annual_rate="0.12")
    # payment = 12000 × 0.01 × 1.01³ / (1.01³ − 1) = 4080.2652… → 4080.27
    assert rows == [(date(2031, 2, 28), D("3960.27"), D("120.00")),
                    (date(2031, 3, 31), D("3999.87"), D("80.40")),
                    (date(2031, 4, 30), D("4039.86"), D("40.40"))]
    assert sum(r[1] for r in rows) == D("12000.00")


def test_equal_principal_interest_only_bullet_hand_computed():
    svc = _svc()
    assert svc.schedule("equal_principal", start=START, months=3, principal="12000", annual_rate="0.12") == [
        (date(2031, 2, 28), D("4000.00"), D("120.00")), (date(2031, 3, 31), D("4000.00"), D("80.00")),
        (date(2031, 4, 30), D("4000.00"), D("40.00"))]
    assert svc.schedule("interest_only", start=START, months=3, principal="12000", annual_rate="0.12") == [
        (date(2031, 2, 28), D("0.00"), D("120.00")), (date(2031, 3, 31), D("0.00"), D("120.00")),
        (date(2031, 4, 30), D("12000.00"), D("120.00"))]
    assert svc.schedule("bullet", start=START, months=3, principal="12000", annual_rate="0.12") == [
        (date(2031, 4, 30), D("12000.00"), D("360.00"))]
    # 10000 over 3 months: 3333.33, 3333.33 and the remainder 3333.34
    rows = svc.schedule("equal_principal", start=START, months=3, principal="10000", annual_rate="0")
    assert [r[1] for r in rows] == [D("3333.33"), D("3333.33"), D("3333.34")]


@pytest.mark.parametrize("kwargs", [dict(method="monthly"), dict(principal="0"), dict(annual_rate="1.5"),
                                    dict(months=0), dict(principal="abc")])
def test_schedule_refuses_bad_input(kwargs):
    args = dict(method="annuity", start=START, months=3, principal="12000", annual_rate="0.12")
    args.update(kwargs)
    with pytest.raises(ValidationError):
        _svc().schedule(args.pop("method"), **args)


def test_generate_repay_and_regenerate(db):
    svc = _svc()
    g = in_force(db, amount="12000.00")
    rows = svc.generate_plan(g.id, "equal_principal", start=START, months=3, principal="12000", annual_rate="0.12")
    assert [r.seq for r in rows] == [1, 2, 3] and svc.outstanding_principal(g.id) == D("12000.00")
    db.session.commit()
    with business_day(db, date(2031, 3, 1)):
        with pytest.raises(ValidationError):  # more than owed
            svc.record_repayment(g.id, paid_on=date(2031, 2, 28), principal="12000.01")
        with pytest.raises(ValidationError):  # after the business date
            svc.record_repayment(g.id, paid_on=date(2031, 3, 2), principal="100")
        svc.record_repayment(g.id, paid_on=date(2031, 2, 28), principal="4000", interest="120")
        db.session.commit()
    plan = svc.plan_rows(g.id)
    assert plan[0].settled and plan[0].settled_on == date(2031, 2, 28) and not plan[1].settled
    assert svc.outstanding_principal(g.id) == D("8000.00") and g.balance == D("8000.00")
    # early repayment / extension: the unpaid rows are replaced, the paid one stays as history
    new = svc.generate_plan(g.id, "bullet", start=date(2031, 2, 28), months=2, principal="8000", annual_rate="0.12")
    assert [r.seq for r in new] == [2]
    assert [(r.seq, r.principal) for r in svc.plan_rows(g.id)] == [(1, D("4000.00")), (2, D("8000.00"))]
    assert svc.overdue_days(g.id, date(2031, 4, 30)) == 2  # due 28 Apr (a Monday), unpaid on 30 Apr


def _workbook(rows) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["期次", "到期日", "本金", "利息"])
    for i, (seq, due, principal, interest) in enumerate(rows, start=1):
        sheet.write(i, 0, seq)
        if isinstance(due, date):
            from datetime import datetime

            sheet.write_datetime(i, 1, datetime(due.year, due.month, due.day), day)
        else:
            sheet.write(i, 1, due)
        sheet.write(i, 2, principal)
        sheet.write(i, 3, interest)
    book.close()
    return buffer.getvalue()


def test_import_validates_and_replaces(db):
    svc = _svc()
    g = in_force(db, amount="10000.00")
    good = [(1, date(2031, 3, 20), 5000, 40), (2, date(2031, 4, 20), 5000, 20)]
    with pytest.raises(ValidationError) as ex:  # principal does not add up to the loan
        svc.import_plan(g.id, _workbook([(1, date(2031, 3, 20), 5000, 40)]))
    assert "10000.00" in ex.value.message
    with pytest.raises(ValidationError) as ex:
        svc.import_plan(g.id, _workbook([(1, date(2031, 3, 20), 5000, 40), (2, "not a date", 5000, 20)]))
    assert "3" in ex.value.message  # row 3 of the sheet
    with pytest.raises(ValidationError):  # dates must rise
        svc.import_plan(g.id, _workbook([(1, date(2031, 4, 20), 5000, 40), (2, date(2031, 3, 20), 5000, 20)]))
    with pytest.raises(ValidationError):
        svc.import_plan(g.id, b"not a workbook")
    assert svc.plan_rows(g.id) == []
    rows = svc.import_plan(g.id, _workbook(good))
    assert [(r.due_date, r.principal, r.interest, r.source) for r in rows] == [
        (date(2031, 3, 20), D("5000.00"), D("40.00"), "imported"), (date(2031, 4, 20), D("5000.00"), D("20.00"),
                                                                    "imported")]
    assert svc.import_template()[:2] == b"PK"


def test_overdue_across_the_national_day_holiday(db):
    """Due on 1 Oct 2025 (holiday 1–8 Oct): with the working-day rule it is due on Thursday 9 Oct."""
    from app.services import warnings

    svc = _svc()
    adjusted = make_product(db)
    svc.set_product_rule(adjusted.id, True)
    g = in_force(db, amount="50000.00", loan_date=date(2025, 9, 1), product=adjusted)
    plain = in_force(db, amount="50000.00", loan_date=date(2025, 9, 1))
    for item in (g, plain):
        svc.generate_plan(item.id, "bullet", start=date(2025, 9, 1), months=1, principal="50000", annual_rate="0.06")
    row = svc.plan_rows(g.id)[0]
    assert row.due_date == date(2025, 10, 1) and row.effective_due == date(2025, 10, 9)
    assert svc.overdue_days(g.id, date(2025, 10, 9)) == 0
    assert svc.overdue_days(g.id, date(2025, 10, 10)) == 1
    assert svc.overdue_days(plain.id, date(2025, 10, 9)) == 8
    warnings.evaluate_rules(date(2025, 10, 9), ["repayment_overdue"])
    assert warnings_of(db, "repayment_overdue", g) == [] and len(warnings_of(db, "repayment_overdue", plain)) == 1
    warnings.evaluate_rules(date(2025, 10, 10), ["repayment_overdue"])
    assert len(warnings_of(db, "repayment_overdue", g)) == 1
    assert svc.next_working_day(date(2025, 10, 11)) == date(2025, 10, 11)  # a Saturday worked in exchange


def test_import_repayments_all_or_nothing(db):
    import xlsxwriter
    from datetime import datetime

    svc = _svc()
    g = in_force(db, amount="3000.00")
    svc.generate_plan(g.id, "equal_principal", start=date(2031, 5, 10), months=3, principal="3000", annual_rate="0")

    def book(rows):
        buffer = io.BytesIO()
        wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = wb.add_worksheet()
        day_format = wb.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, ["还款日期", "本金", "利息", "流水号"])
        for i, (day, principal, ref) in enumerate(rows, start=1):
            sheet.write_datetime(i, 0, datetime(day.year, day.month, day.day), day_format)
            sheet.write(i, 1, principal)
            sheet.write(i, 2, 0)
            sheet.write(i, 3, ref)
        wb.close()
        return buffer.getvalue()

    db.session.commit()
    with business_day(db, date(2031, 8, 1)):
        with pytest.raises(ValidationError) as ex:  # the second row repays more than is owed
            svc.import_repayments(g.id, book([(date(2031, 6, 10), 1000, "A1"), (date(2031, 7, 10), 5000, "A2")]))
        assert "3" in ex.value.message
        db.session.rollback()
        assert svc.repayments(g.id) == [] and svc.outstanding_principal(g.id) == D("3000.00")
        made = svc.import_repayments(g.id, book([(date(2031, 6, 10), 1000, "A1"), (date(2031, 7, 10), 1000, "A2")]))
        assert [r.reference for r in made] == ["A1", "A2"] and svc.outstanding_principal(g.id) == D("1000.00")
        db.session.commit()
