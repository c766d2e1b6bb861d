"""BIZ-9 fee schedule: every collection mode against figures computed by hand (no database needed)."""
from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from app.errors import ValidationError
from app.services.fees import ScheduleRow, add_months, build_schedule, term_end, totals_by_type, whole_term_fee


def ratio(rate, principal, frequency, fee_type="guarantee"):
    return {"fee_type": fee_type, "basis": "ratio", "rate": D(rate), "principal": D(principal), "frequency": frequency}


def fixed(amount, frequency, fee_type="service"):
    return {"fee_type": fee_type, "basis": "fixed", "amount": D(amount), "frequency": frequency}


def test_month_ends_are_kept_and_clamped():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)  # leap year
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)  # counted from the start, not from 28 Feb
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert term_end(date(2026, 1, 15), 12) == date(2027, 1, 14)


def test_one_off_ratio_is_rate_times_principal_times_term():
    # 1,000,000 × 2 % × 18/12 = 30,000.00, due on the start date, for the whole term
    rows = build_schedule([ratio("0.02", "1000000", "one_off")], date(2026, 3, 10), 18)
    assert rows == [ScheduleRow(date(2026, 3, 10), "guarantee", D("30000.00"), date(2026, 3, 10), date(2027, 9, 9))]


def test_one_off_ratio_rounds_half_up_to_cents():
    # 333,333.33 × 1.5 % × 7/12 = 2,916.6666... -> 2,916.67 ; 100,000.10 × 1.5 % = 1,500.0015 -> 1,500.00
    assert build_schedule([ratio("0.015", "333333.33", "one_off")], date(2026, 1, 1), 7)[0].amount == D("2916.67")
    # 10,000.30 × 1.5 % × 12/12 = 150.0045 -> 150.00 ; 10,000.50 × 1.5 % = 150.0075 -> 150.01 (half up)
    assert build_schedule([ratio("0.015", "10000.30", "one_off")], date(2026, 1, 1), 12)[0].amount == D("150.00")
    assert build_schedule([ratio("0.015", "10000.50", "one_off")], date(2026, 1, 1), 12)[0].amount == D("150.01")


def test_monthly_ratio_last_month_takes_the_remainder_and_month_ends_follow_the_start():
    # 1,000,000 × 1.33 % / 12 = 1,108.3333 -> 1,108.33 a month; whole term 1,000,000 × 1.33 % × 3/12 = 3,325.00;
    # the third month takes 3,325.00 - 2 × 1,108.33 = 1,108.34
    rows = build_schedule([ratio("0.0133", "1000000", "monthly")], date(2026, 1, 31), 3)
    assert rows == [
        ScheduleRow(date(2026, 1, 31), "guarantee", D("1108.33"), date(2026, 1, 31), date(2026, 2, 27)),
        ScheduleRow(date(2026, 2, 28), "guarantee", D("1108.33"), date(2026, 2, 28), date(2026, 3, 30)),
        ScheduleRow(date(2026, 3, 31), "guarantee", D("1108.34"), date(2026, 3, 31), date(2026, 4, 29)),
    ]
    assert sum(r.amount for r in rows) == D("3325.00")


def test_monthly_in_a_leap_year():
    # 1,200,000 × 1 % / 12 = 1,000.00 a month
    rows = build_schedule([ratio("0.01", "1200000", "monthly")], date(2028, 1, 31), 2)
    assert [(r.due_date, r.amount, r.period_to) for r in rows] == [
        (date(2028, 1, 31), D("1000.00"), date(2028, 2, 28)),
        (date(2028, 2, 29), D("1000.00"), date(2028, 3, 30)),
    ]


def test_quarterly_ratio_with_a_short_last_quarter():
    # 500,000 × 1.8 % × 3/12 = 2,250.00 per quarter; 8 months = 3 + 3 + 2; whole 500,000 × 1.8 % × 8/12 = 6,000.00
    rows = build_schedule([ratio("0.018", "500000", "quarterly")], date(2026, 11, 30), 8)
    assert rows == [
        ScheduleRow(date(2026, 11, 30), "guarantee", D("2250.00"), date(2026, 11, 30), date(2027, 2, 27)),
        ScheduleRow(date(2027, 2, 28), "guarantee", D("2250.00"), date(2027, 2, 28), date(2027, 5, 29)),
        ScheduleRow(date(2027, 5, 30), "guarantee", D("1500.00"), date(2027, 5, 30), date(2027, 7, 29)),
    ]


def test_quarterly_rounding_remainder():
    # 1,000,000 × 1.7 % × 3/12 = 4,250.00 ; use 999,999.99: × 1.7 % × 3/12 = 4,249.99995750 -> 4,250.00 per quarter;
    # whole (12 months) 999,999.99 × 1.7 % = 16,999.99983 -> 17,000.00 ; last = 17,000.00 - 3 × 4,250.00 = 4,250.00
    rows = build_schedule([ratio("0.017", "999999.99", "quarterly")], date(2026, 4, 1), 12)
    assert [r.amount for r in rows] == [D("4250.00")] * 4
    # 777,777.77 × 1.3 % / 4 = 2,527.777... -> 2,527.78 ; whole 777,777.77 × 1.3 % = 10,111.11101 -> 10,111.11 ;
    # last = 10,111.11 - 3 × 2,527.78 = 2,527.77
    rows = build_schedule([ratio("0.013", "777777.77", "quarterly")], date(2026, 4, 1), 12)
    assert [r.amount for r in rows] == [D("2527.78"), D("2527.78"), D("2527.78"), D("2527.77")]
    assert [r.due_date for r in rows] == [date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1), date(2027, 1, 1)]


def test_yearly_ratio_with_a_half_year_at_the_end():
    # 1,234,567.89 × 1.75 % = 21,604.938075 -> 21,604.94 for the first year;
    # whole 18 months: 1,234,567.89 × 1.75 % × 1.5 = 32,407.4071125 -> 32,407.41 ; last = 10,802.47
    rows = build_schedule([ratio("0.0175", "1234567.89", "yearly")], date(2026, 1, 31), 18)
    assert rows == [
        ScheduleRow(date(2026, 1, 31), "guarantee", D("21604.94"), date(2026, 1, 31), date(2027, 1, 30)),
        ScheduleRow(date(2027, 1, 31), "guarantee", D("10802.47"), date(2027, 1, 31), date(2027, 7, 30)),
    ]
    assert whole_term_fee(ratio("0.0175", "1234567.89", "yearly"), 18) == D("32407.41")


def test_fixed_amounts_are_due_at_each_collection():
    rows = build_schedule([fixed("5000", "one_off", "handling"), fixed("800", "monthly", "service")],
                          date(2026, 5, 31), 3)
    assert rows == [
        ScheduleRow(date(2026, 5, 31), "service", D("800.00"), date(2026, 5, 31), date(2026, 6, 29)),
        ScheduleRow(date(2026, 5, 31), "handling", D("5000.00"), date(2026, 5, 31), date(2026, 8, 30)),
        ScheduleRow(date(2026, 6, 30), "service", D("800.00"), date(2026, 6, 30), date(2026, 7, 30)),
        ScheduleRow(date(2026, 7, 31), "service", D("800.00"), date(2026, 7, 31), date(2026, 8, 30)),
    ]
    assert totals_by_type(rows) == {"service": D("2400.00"), "handling": D("5000.00")}
    # yearly fixed over 30 months: three collections (12 + 12 + 6)
    rows = build_schedule([fixed("1000", "yearly", "other")], date(2026, 1, 1), 30)
    assert [(r.due_date, r.amount) for r in rows] == [
        (date(2026, 1, 1), D("1000.00")), (date(2027, 1, 1), D("1000.00")), (date(2028, 1, 1), D("1000.00"))]


def test_a_whole_plan_is_ordered_by_due_date_then_fee_type_and_accepts_objects():
    plan = [
        SimpleNamespace(fee_type="penalty", basis="fixed", amount=D("100"), rate=None, principal=None,
                        frequency="one_off"),
        SimpleNamespace(fee_type="guarantee", basis="ratio", rate=D("0.02"), principal=D("600000"), amount=None,
                        frequency="quarterly"),
    ]
    rows = build_schedule(plan, date(2026, 1, 1), 6)
    # 600,000 × 2 % × 3/12 = 3,000.00 per quarter
    assert [(r.due_date, r.fee_type, r.amount) for r in rows] == [
        (date(2026, 1, 1), "guarantee", D("3000.00")),
        (date(2026, 1, 1), "penalty", D("100.00")),
        (date(2026, 4, 1), "guarantee", D("3000.00")),
    ]


@pytest.mark.parametrize("item, term", [
    ({"fee_type": "bonus", "basis": "fixed", "amount": 1, "frequency": "one_off"}, 12),
    ({"fee_type": "service", "basis": "percent", "amount": 1, "frequency": "one_off"}, 12),
    ({"fee_type": "service", "basis": "fixed", "amount": 1, "frequency": "weekly"}, 12),
    ({"fee_type": "service", "basis": "fixed", "amount": None, "frequency": "one_off"}, 12),
    ({"fee_type": "service", "basis": "fixed", "amount": "-5", "frequency": "one_off"}, 12),
    ({"fee_type": "guarantee", "basis": "ratio", "rate": "1.5", "principal": 1000, "frequency": "one_off"}, 12),
    ({"fee_type": "guarantee", "basis": "ratio", "rate": "0.02", "principal": None, "frequency": "one_off"}, 12),
    ({"fee_type": "guarantee", "basis": "ratio", "rate": "abc", "principal": 1000, "frequency": "one_off"}, 12),
    ({"fee_type": "guarantee", "basis": "ratio", "rate": "0.02", "principal": 1000, "frequency": "one_off"}, 0),
    ({"fee_type": "guarantee", "basis": "ratio", "rate": "0.02", "principal": 1000, "frequency": "one_off"}, 1.5),
])
def test_bad_items_are_refused(item, term):
    with pytest.raises(ValidationError):
        build_schedule([item], date(2026, 1, 1), term)
