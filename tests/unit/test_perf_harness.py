"""The benchmark harness (tests/perf) works end to end: a tiny run on SQLite prints its table and writes
every declared figure to the JSON file. No timing assertions: benchmarks never fail the test run."""
import json

from tests.perf import harness


def test_platform_suite_runs_on_sqlite_and_reports_every_figure(tmp_path, capsys):
    out = tmp_path / "perf.json"
    result = harness.run(["platform"], scale="tiny", db="sqlite", json_path=str(out))

    assert result.failed == []
    written = json.loads(out.read_text())
    declared = {figure.name for figure in harness.discover()["platform"].figures}
    assert set(written) == {"platform"}
    assert set(written["platform"]) == declared
    assert {"demo_rows_per_s", "list_ms_median", "list_ms_p95", "list_scale_ratio"} <= declared
    assert all(value > 0 for value in written["platform"].values())
    assert written["platform"]["rows_at_100k"] > written["platform"]["rows_at_1k"]
    printed = capsys.readouterr().out
    assert "== platform:" in printed and "list_ms_median" in printed and "target" in printed


def test_registry_finds_suites_by_module_name():
    suites = harness.discover()
    platform = suites["platform"]
    assert platform.figure("demo_rows_per_s").target == (">=", 5_000)
    assert platform.figure("list_scale_ratio").target == ("<", 2)


def test_figures_judge_their_targets_and_percentiles_rank_nearest():
    figure = harness.Figure("x_ms", "ms", "a test figure", ("<", 150))
    assert figure.met(149.9) is True and figure.met(150) is False and figure.met(None) is None
    assert harness.Figure("info", "ms", "no target").met(1) is None
    samples = list(range(1, 51))  # 1..50
    assert harness.percentile(samples, 95) == 48
    assert harness.percentile(samples, 50) == 25
