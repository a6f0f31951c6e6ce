"""Tests of course_lib.inference.latency: latency reports and the ways to call a model.

No assertion here depends on how fast anything runs: latency is measured with a
fake clock, and the speed relations the lesson claims are printed by
benchmarks/bench_inference.py.
"""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest

from course_lib import inference
from course_lib.errors import InvalidInputError
from course_lib.inference import LatencyReport, LatencyRow, measure_latency

matplotlib.use("Agg")


class FakeClock:
    """A timer whose successive calls differ by the given steps (cycled)."""

    def __init__(self, *steps: float) -> None:
        self.now, self.steps = 0.0, itertools.cycle(steps)

    def __call__(self) -> float:
        self.now += next(self.steps)
        return self.now


class TestLatencyRow:
    def test_percentiles_are_numpys(self):
        row = LatencyRow("f", 10, (0.001, 0.002, 0.003, 0.004, 0.010))
        assert row.p50 == pytest.approx(np.percentile(row.seconds, 50))
        assert row.p95 == pytest.approx(np.percentile(row.seconds, 95))

    def test_throughput_is_rows_over_median_time(self):
        row = LatencyRow("f", 250, (0.5, 0.5, 2.0))
        assert row.throughput == pytest.approx(250 / 0.5)

    def test_per_row_and_spread(self):
        row = LatencyRow("f", 4, (0.002, 0.002, 0.004))
        assert row.per_row == pytest.approx(0.0005)
        assert row.spread == pytest.approx(row.p95 / row.p50)


class TestMeasureLatency:
    def test_one_row_per_method_and_batch_size(self):
        report = measure_latency({"a": len, "b": len}, np.zeros((50, 3)), batch_sizes=(1, 10, 50),
                                 repeats=4, warmup=1)
        assert report.methods == ("a", "b")
        assert report.batch_sizes == (1, 10, 50)
        assert [(r.method, r.batch_size) for r in report.rows] == [
            ("a", 1), ("a", 10), ("a", 50), ("b", 1), ("b", 10), ("b", 50)]
        assert all(len(r.seconds) == 4 for r in report.rows)

    def test_a_single_function_is_named_predict(self):
        report = measure_latency(len, np.zeros((5, 2)), batch_sizes=(1,), repeats=3)
        assert report.methods == ("predict",)

    def test_warm_up_calls_come_first_and_are_not_timed(self):
        calls = []
        clock = FakeClock(1.0)
        report = measure_latency(lambda b: calls.append(clock.now), np.zeros((4, 2)),
                                 batch_sizes=(2,), repeats=3, warmup=2, timer=clock)
        assert len(calls) == 2 + 3
        assert calls[:2] == [0.0, 0.0]  # the clock is only read around timed calls
        assert report.warmup == 2 and report.repeats == 3

    def test_batches_are_the_first_rows(self):
        seen = []
        x = np.arange(20.0).reshape(10, 2)
        measure_latency(lambda b: seen.append(b.copy()), x, batch_sizes=(3,), repeats=3, warmup=0)
        np.testing.assert_array_equal(seen[0], x[:3])

    def test_timings_come_from_the_timer(self):
        clock = FakeClock(0.0, 0.002)  # start at t, stop 2 ms later
        report = measure_latency(len, np.zeros((100, 1)), batch_sizes=(1, 100), repeats=5,
                                 timer=clock)
        for r in report.rows:
            assert r.seconds == pytest.approx((0.002,) * 5)
        assert report.row("predict", 100).throughput == pytest.approx(100 / 0.002)

    def test_batch_sizes_are_sorted_and_deduplicated(self):
        report = measure_latency(len, np.zeros((10, 1)), batch_sizes=[10, 1, 10], repeats=3)
        assert report.batch_sizes == (1, 10)

    def test_empty_x_raises(self):
        with pytest.raises(InvalidInputError, match="at least one row"):
            measure_latency(len, np.zeros((0, 8)))

    def test_batch_larger_than_x_raises(self):
        with pytest.raises(InvalidInputError, match="1000 rows for a batch of 1000; found 10"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=(1, 1000))

    @pytest.mark.parametrize("bad", [0, -5, 1.5, True, "10"])
    def test_bad_batch_size_raises(self, bad):
        with pytest.raises(InvalidInputError, match="batch size to be a whole number of 1 or more"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=(1, bad))

    @pytest.mark.parametrize("bad", [(), "10", 5])
    def test_batch_sizes_not_a_list_raises(self, bad):
        with pytest.raises(InvalidInputError, match="batch_sizes to be a non-empty list"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=bad)

    def test_too_few_repeats_raise(self):
        with pytest.raises(InvalidInputError, match="repeats to be a whole number of 3 or more"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=(1,), repeats=1)

    def test_negative_warmup_raises(self):
        with pytest.raises(InvalidInputError, match="warmup to be a whole number of 0 or more"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=(1,), warmup=-1)

    def test_not_callable_raises(self):
        with pytest.raises(InvalidInputError, match="expected 'fast' to be a function"):
            measure_latency({"fast": 3}, np.zeros((10, 8)), batch_sizes=(1,))

    def test_empty_mapping_raises(self):
        with pytest.raises(InvalidInputError, match="at least one prediction function"):
            measure_latency({}, np.zeros((10, 8)))

    def test_failing_function_is_reported_with_its_name_and_batch(self):
        def broken(batch):
            raise ValueError("wrong dtype")

        expected = r"'slow' to predict on a batch of shape \(1, 8\).*wrong dtype"
        with pytest.raises(InvalidInputError, match=expected):
            measure_latency({"slow": broken}, np.zeros((10, 8)), batch_sizes=(1,))


@pytest.fixture
def report():
    rows = []
    for method, base in (("predict", 0.050), ("call", 0.002)):
        for b in (1, 100):
            rows.append(LatencyRow(method, b, (base, base, base * 1.5)))
    return LatencyReport(tuple(rows), warmup=3, repeats=3)


class TestLatencyReport:
    def test_row_lookup(self, report):
        assert report.row("call", 100).batch_size == 100

    def test_unknown_row_raises_naming_what_was_measured(self, report):
        expected = r"methods \['predict', 'call'\], batch sizes \[1, 100\]"
        with pytest.raises(InvalidInputError, match=expected):
            report.row("call", 10)

    def test_text_table_has_units_and_every_row(self, report):
        text = str(report)
        assert text.count("\n") == len(report.rows) + 1
        assert "50.00 ms" in text and "2.00 ms" in text and "50,000 rows/s" in text
        assert "3 timed calls per cell after 3 warm-up calls" in text

    def test_repr_is_short(self, report):
        assert repr(report) == ("LatencyReport(methods=['predict', 'call'], batch_sizes=[1, 100], "
                                "repeats=3, warmup=3)")

    def test_html_table_has_every_row(self, report):
        assert report._repr_html_().count("<tr>") == len(report.rows) + 1

    def test_microseconds_are_shown_with_their_unit(self):
        r = LatencyReport((LatencyRow("sig", 1, (0.00019,) * 3),), warmup=0, repeats=3)
        assert "190 µs" in str(r)

    def test_as_dicts(self, report):
        first, row = report.as_dicts()[0], report.rows[0]
        assert first == {"method": "predict", "batch_size": 1, "p50_s": 0.05,
                         "p95_s": pytest.approx(row.p95), "spread": pytest.approx(row.spread),
                         "rows_per_s": pytest.approx(20.0)}

    def test_real_time_verdict_uses_p95_against_the_budget(self, report):
        text = report.real_time_verdict(max_latency_ms=10.0)
        assert text.splitlines()[0].startswith("budget: 10.00 ms per call of 1 row, at p95")
        assert "predict: p95" in text and "too slow" in text.splitlines()[1]
        assert text.splitlines()[2].endswith("fits")

    def test_real_time_verdict_at_another_batch_size(self, report):
        text = report.real_time_verdict(max_latency_ms=60.0, batch_size=100)
        assert "per call of 100 rows" in text and text.count("fits") == 1

    @pytest.mark.parametrize("bad", [0, -1, float("nan"), "10ms"])
    def test_bad_budget_raises(self, report, bad):
        with pytest.raises(InvalidInputError, match="max_latency_ms to be a number above 0 ms"):
            report.real_time_verdict(max_latency_ms=bad)

    def test_report_is_ok_with_a_verdict_and_a_table(self, report):
        assert report.ok is True
        assert report.verdict == ("(3 timed calls per cell after 3 warm-up calls; p50 = median, "
                                  "p95 = 95th percentile)")
        assert str(report).splitlines()[-1] == report.verdict
        headers, rows = report.table()
        assert headers[0] == "method" and len(rows) == len(report.rows)

    def test_a_table_with_a_missing_cell_is_not_ok(self):
        rows = (LatencyRow("a", 1, (0.1,) * 3), LatencyRow("b", 10, (0.1,) * 3))
        incomplete = LatencyReport(rows, warmup=0, repeats=3)
        assert not incomplete.ok and incomplete.verdict.startswith("NOT every method")

    def test_plot_returns_the_report(self, report):
        assert report.plot() is report
        assert report.ax_ is report.figure_.axes[0]

    def test_plot_into_one_axes_puts_throughput_on_its_twin(self, report):
        from matplotlib.figure import Figure

        ax = Figure().subplots()
        assert report.plot(ax) is report and report.ax_ is ax
        left, right = ax.figure.axes
        assert (left.get_yscale(), right.get_yscale()) == ("log", "log")
        np.testing.assert_allclose(right.get_lines()[1].get_ydata(),
                                   [report.row("call", b).throughput for b in (1, 100)])

    def test_plot_into_a_pair_of_axes(self, report):
        from matplotlib.figure import Figure

        pair = Figure().subplots(1, 2)
        report.plot(pair)
        assert pair[1].get_ylabel() == "rows per second" and len(pair[0].figure.axes) == 2

    def test_plot_has_latency_and_throughput_on_log_axes(self, report):
        fig = report.plot().figure_
        left, right = fig.axes
        assert (left.get_xscale(), left.get_yscale(), right.get_yscale()) == ("log", "log", "log")
        assert [t.get_text() for t in right.get_legend().get_texts()] == ["predict", "call"]
        np.testing.assert_allclose(right.get_lines()[1].get_ydata(),
                                   [report.row("call", b).throughput for b in (1, 100)])


@pytest.fixture(scope="module")
def loaded(untrained_fraud_model, tmp_path_factory):
    """Needs TensorFlow: the session's untrained model, saved once (weights do not matter here)."""
    from course_lib import persistence

    model = untrained_fraud_model
    folder = tmp_path_factory.mktemp("styles")
    persistence.save(model, folder / "fraud.keras")
    persistence.save(model, folder / "fraud_savedmodel")
    return persistence.load(folder / "fraud.keras"), persistence.load(folder / "fraud_savedmodel")


class TestCallStyles:
    def test_three_styles_with_a_savedmodel(self, loaded):
        assert list(inference.call_styles(*loaded)) == [
            "model.predict", "model(x, training=False)", "SavedModel signature"]

    def test_two_styles_without(self, loaded):
        assert list(inference.call_styles(loaded[0])) == ["model.predict",
                                                          "model(x, training=False)"]

    def test_every_style_gives_the_same_scores(self, loaded, fraud):
        batch = fraud.test.x[:50]
        expected = loaded[0].predict(batch)
        for name, fn in inference.call_styles(*loaded).items():
            out = fn(batch)
            assert isinstance(out, np.ndarray) and out.shape == (50, 1), name
            np.testing.assert_allclose(out, expected, atol=1e-6, err_msg=name)

    def test_a_keras_model_works_as_well_as_a_loaded_one(self, loaded):
        assert list(inference.call_styles(loaded[0].raw)) == ["model.predict",
                                                              "model(x, training=False)"]

    def test_styles_feed_measure_latency(self, loaded, fraud):
        report = measure_latency(inference.call_styles(*loaded), fraud.test.x, batch_sizes=(1, 8),
                                 repeats=3, warmup=1)
        assert len(report.rows) == 6 and all(r.p50 > 0 for r in report.rows)

    def test_not_a_keras_model_raises(self, loaded):
        with pytest.raises(InvalidInputError, match="expected a Keras model"):
            inference.call_styles(loaded[1])

    def test_savedmodel_of_the_wrong_kind_raises(self, loaded):
        with pytest.raises(InvalidInputError, match="savedmodel to be persistence.load"):
            inference.call_styles(loaded[0], loaded[0])


class TestAnyInput:
    def test_the_default_batch_sizes_are_capped_by_the_rows(self):
        report = measure_latency(len, np.zeros((397, 8)), repeats=3, warmup=0)
        assert report.batch_sizes == (1, 10, 100, 397)

    def test_capping_is_noted_in_the_verdict(self):
        report = measure_latency(len, np.zeros((5, 8)), repeats=3, warmup=0)
        assert report.batch_sizes == (1, 5)
        assert "batch sizes capped at the 5 rows of x (default 1, 10, 100, 1000)" in report.verdict

    def test_no_note_when_every_default_fits(self):
        report = measure_latency(len, np.zeros((1000, 1)), repeats=3, warmup=0)
        assert report.batch_sizes == (1, 10, 100, 1000) and "capped" not in report.verdict

    def test_an_explicit_batch_larger_than_the_rows_says_the_defaults_are_capped(self):
        with pytest.raises(InvalidInputError, match="leave batch_sizes out"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=(100,))

    def test_images_are_batched_along_their_rows(self):
        shapes = []
        measure_latency(lambda b: shapes.append(b.shape), np.zeros((20, 8, 8, 1)),
                        batch_sizes=(1, 20), repeats=3, warmup=0)
        assert set(shapes) == {(1, 8, 8, 1), (20, 8, 8, 1)}

    def test_a_dict_of_inputs_is_batched_input_by_input(self):
        seen = []
        x = {"mean": np.zeros((12, 10)), "worst": np.ones((12, 3))}
        report = measure_latency(lambda b: seen.append({k: v.shape for k, v in b.items()}), x,
                                 batch_sizes=(2,), repeats=3, warmup=0)
        assert seen[0] == {"mean": (2, 10), "worst": (2, 3)} and report.row("predict", 2)

    def test_a_list_of_inputs_is_batched_too(self):
        seen = []
        measure_latency(lambda b: seen.append([v.shape[0] for v in b]),
                        [np.zeros((6, 2)), np.zeros((6, 4))], batch_sizes=(3,), repeats=3)
        assert seen[0] == [3, 3]

    def test_inputs_with_different_rows_are_refused(self):
        with pytest.raises(InvalidInputError, match="same number of rows"):
            measure_latency(len, {"a": np.zeros((3, 1)), "b": np.zeros((4, 1))})

    def test_a_failure_names_every_input_of_the_batch(self):
        def broken(batch):
            raise ValueError("no")

        with pytest.raises(InvalidInputError, match=r"a batch of inputs 'a' \(1, 2\) float64"):
            measure_latency({"f": broken}, {"a": np.zeros((3, 2))}, batch_sizes=(1,))
