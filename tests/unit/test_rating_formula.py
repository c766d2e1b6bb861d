"""RAT-1 formulas: checked at save (only statement items, arithmetic and abs/min/max/avg), evaluated without
eval; one customer and all customers at once give bit-identical values; bands and linear rules at their edges."""
import math

import numpy as np
import pandas as pd
import pytest

from app.services import rating as R
from app.services import rating_formula as F


@pytest.fixture
def ctx(app):
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        yield


@pytest.mark.parametrize("text, expected", [
    ("total_liabilities / total_assets", 0.4),
    ("(total_current_assets - inventories) / total_current_liabilities", 1.25),
    ("net_profit / avg(total_equity, prev.total_equity)", 187500 / 550000),
    ("revenue / prev.revenue - 1", 0.25),
    ("-abs(net_profit) + max(1, 2, 3) * min(4, 5)", -187500 + 12),
    ("revenue × 2 ÷ 4", 1000000),
])
def test_evaluates(ctx, text, expected):
    current = {"total_liabilities": 400000, "total_assets": 1000000, "total_current_assets": 600000,
               "inventories": 100000, "total_current_liabilities": 400000, "net_profit": 187500,
               "total_equity": 600000, "revenue": 2000000}
    previous = {"total_equity": 500000, "revenue": 1600000}
    value, reason = F.evaluate(text, current, previous)
    assert reason is None and value == pytest.approx(expected, rel=0, abs=1e-12)


@pytest.mark.parametrize("text, message", [
    ("revenue / turnover", "turnover"),
    ("prev.salary * 2", "prev.salary"),
    ("__import__('os').system('true')", "__import__"),
    ("revenue ** 2", "Pow"),
    ("revenue if revenue else 1", "revenue if revenue else 1"),
    ("'abc'", "abc"),
    ("revenue.real", "revenue.real"),
    ("[revenue]", "[revenue]"),
    ("revenue +", "revenue +"),
    ("", ""),
])
def test_refused_at_save_with_the_reason(ctx, text, message):
    with pytest.raises(F.FormulaError) as err:
        F.compile_formula(text)
    assert message in err.value.message


def test_missing_and_division_by_zero(ctx):
    assert F.evaluate("revenue / prev.revenue", {"revenue": 1}, None) == (None, F.MISSING)
    assert F.evaluate("revenue / cost_of_sales", {"revenue": 1, "cost_of_sales": 0}, {}) == (None, F.DIV0)
    # a missing figure is named first even when a division by zero would follow
    assert F.evaluate("revenue / cost_of_sales + prev.revenue", {"revenue": 1, "cost_of_sales": 0}, {}) \
        == (None, F.MISSING)


def test_vector_is_identical_to_scalar(ctx):
    rng = np.random.default_rng(7)
    n = 500
    frame = pd.DataFrame({
        "revenue": rng.uniform(-1e6, 1e7, n).round(2), "prev.revenue": rng.uniform(0, 1e7, n).round(2),
        "net_profit": rng.uniform(-1e5, 1e6, n).round(2), "total_equity": rng.uniform(-1e5, 1e7, n).round(2),
        "prev.total_equity": rng.uniform(0, 1e7, n).round(2),
    })
    frame.loc[::17, "prev.revenue"] = np.nan
    frame.loc[::23, "total_equity"] = 0.0
    frame.loc[::23, "prev.total_equity"] = 0.0
    for text in ("revenue / prev.revenue - 1", "net_profit / avg(total_equity, prev.total_equity)",
                 "max(revenue, net_profit * 3) / min(total_equity, 5e6) - abs(-net_profit)"):
        values, reasons = F.evaluate_vector(text, frame)
        for i, row in enumerate(frame.to_dict("records")):
            current = {k: v for k, v in row.items() if "." not in k and not math.isnan(v)}
            previous = {k[5:]: v for k, v in row.items() if k.startswith("prev.") and not math.isnan(v)}
            value, reason = F.evaluate(text, current, previous)
            assert reason == reasons[i]
            if reason is None:
                assert value == values[i]  # bit-identical, not approximately
            else:
                assert math.isnan(values[i])


def test_band_edges(ctx):
    bands = R.parse_bands("~0.4=100\n0.4~0.55=80\n0.55~0.7=60\n0.7~0.85=30\n0.85~=0")
    assert [R.band_points(v, bands) for v in (0.3999, 0.4, 0.5499, 0.55, 0.7, 0.85, 5)] == [100, 80, 80, 60, 30, 0, 0]
    assert R.band_points(0.5, R.parse_bands("0.6~=10")) is None


def test_linear_rule(ctx):
    assert R.linear_points(0.8, 0.8, 2.0, "higher") == 0
    assert R.linear_points(2.0, 0.8, 2.0, "higher") == 100
    assert R.linear_points(1.4, 0.8, 2.0, "higher") == pytest.approx(50)
    assert R.linear_points(3.0, 0.8, 2.0, "higher") == 100
    assert R.linear_points(0.8, 0.8, 2.0, "lower") == 100
    assert R.linear_points(-1, 0.8, 2.0, "lower") == 100


@pytest.mark.parametrize("text, message", [
    ("0.4-0.5=80", "0.4-0.5=80"), ("0.5~0.4=80", "1"), ("~0.4=120", "1"), ("x~1=5", "x"),
])
def test_bad_bands(ctx, text, message):
    from app.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        R.parse_bands(text)
    assert message in err.value.message
