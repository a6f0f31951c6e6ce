"""Tests of course_lib.tfjs.quantization: several weight types, each measured in TF.js."""

from __future__ import annotations

import pytest

from course_lib import tfjs
from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics, RegressionMetrics

SOURCE = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
TRUTH = [100.0, 150.0, 200.0, 250.0]
REG_SOURCE = RegressionMetrics.from_predictions(TRUTH, [110.0, 140.0, 205.0, 240.0])
REG_WORSE = RegressionMetrics.from_predictions(TRUTH, [130.0, 120.0, 230.0, 220.0])


@pytest.fixture(scope="module")
def unlabelled(small_model, small_split, tmp_path_factory):
    return tfjs.compare_quantizations(small_model, small_split.x, None,
                                      tmp_path_factory.mktemp("cmp_nolabels"), [None, "float16"])


@pytest.fixture(scope="module")
def report(small_model, small_split, tmp_path_factory):
    dense_only = tfjs.Quantization("uint8", ("*/dense_*",), "uint8, dense only")
    return tfjs.compare_quantizations(small_model, small_split.x, small_split.y,
                                      tmp_path_factory.mktemp("cmp"),
                                      [None, "uint8", dense_only], max_size_bytes=1024)


class TestQuantization:
    def test_name_is_the_label_or_the_weight_type(self):
        assert tfjs.Quantization("uint8", label="uint8, dense only").name == "uint8, dense only"
        assert tfjs.Quantization("float16").name == "float16"
        assert tfjs.Quantization(None).name == "float32"


class TestCompareQuantizationsAnyTask:
    def test_image_classifier(self, digits_model, digits, tmp_path):
        _train, test = digits
        report = tfjs.compare_quantizations(digits_model, test.x, test.y, tmp_path, ["float16"])
        assert report.ok and report.results[0].task == "multiclass"

    def test_regression(self, diabetes_model, diabetes, tmp_path):
        _train, test = diabetes
        report = tfjs.compare_quantizations(diabetes_model, test.x, test.y, tmp_path, ["float16"])
        assert report.ok and report.results[0].task == "regression"
        assert report.results[0].agreement[0].measure == "largest difference"

    def test_threshold_is_for_binary_classifiers(self, diabetes_model, diabetes, tmp_path):
        _train, test = diabetes
        with pytest.raises(InvalidInputError, match="threshold only for a binary classifier; this "
                           "model's task is regression"):
            tfjs.compare_quantizations(diabetes_model, test.x, test.y, tmp_path, [None],
                                       threshold=0.4)


class TestCompareQuantizations:
    def test_one_measured_result_per_setting(self, report):
        assert report.labels == ["float32", "uint8", "uint8, dense only"]
        assert all(r.node is not None and r.node.rows == 400 for r in report.results)

    def test_each_setting_in_its_own_folder(self, report):
        assert [c.path.name for c in report.conversions] == ["float32", "uint8", "uint8_dense_only"]

    def test_float32_keeps_parity_and_python_is_timed(self, report):
        assert report.result("float32").ok and report.reference_seconds is not None

    def test_budget_results_use_the_budget(self, report):
        assert [g.fits for g in report.budget_results()] == \
            [r.size_bytes <= 1024 for r in report.results]
        assert all(g.fits for g in report.budget_results(max_size_bytes=10**9))

    def test_table_and_timing_texts(self, report):
        assert "largest diff" in str(report) and "uint8, dense only" in report._repr_html_()
        assert "Python (TensorFlow, this process): 400 rows" in report.timing()

    def test_verdict_names_the_passing_settings(self, report):
        passing = [g.label for g in report.budget_results() if g.ok]
        assert report.ok == bool(passing)
        assert str(report).splitlines()[-1] == report.verdict
        assert report.verdict.startswith("PASS: " if passing else "FAIL: no setting")
        assert len(report.failures) == len(report.results) - len(passing)

    def test_plot_has_a_row_per_setting_and_returns_the_report(self, report):
        assert report.plot() is report and report.ax_ is report.axes_[0]
        assert [t.get_text() for t in report.ax_.get_yticklabels()] == report.labels

    def test_plot_adds_settings_verified_on_their_own(self, report):
        source = report.results[0].before
        extra = tfjs.Parity.from_metrics("uint8, dense only", 40_000, source, source)
        report.plot(also=[extra])
        assert [t.get_text() for t in report.ax_.get_yticklabels()][-1] == "uint8, dense only"

    def test_plot_into_an_axes_splits_its_place_into_the_panels(self, report):
        from course_lib.plots import new_figure

        ax = new_figure(12, 3).add_subplot()
        report.plot(ax)
        assert not ax.axison and report.figure_ is ax.figure
        assert [a for a in ax.figure.axes if a is not ax and a.has_data()]

    def test_timing_of_unmeasured_results(self):
        report = tfjs.QuantizationReport((tfjs.Parity.from_metrics("float16", 1, SOURCE, SOURCE),),
                                         (), 1, None)
        assert report.timing() == "no timings: these results were not measured in TF.js"

    def test_unknown_setting_name(self, report):
        with pytest.raises(InvalidInputError, match="expected one of"):
            report.result("int4")

    def test_repeated_settings_need_labels(self, small_model, small_split, tmp_path):
        with pytest.raises(InvalidInputError, match="each with its own name"):
            tfjs.compare_quantizations(small_model, small_split.x, small_split.y, tmp_path,
                                       ["uint8", "uint8"])

    @pytest.mark.parametrize("budget", [0, 1.5, True])
    def test_budget_must_be_positive_bytes(self, small_model, small_split, tmp_path, budget):
        with pytest.raises(InvalidInputError, match="max_size_bytes to be a whole number"):
            tfjs.compare_quantizations(small_model, small_split.x, small_split.y, tmp_path,
                                       max_size_bytes=budget)


class TestWithoutLabels:
    def test_judged_on_the_predictions(self, unlabelled):
        assert unlabelled.ok and unlabelled.verdict == (
            "PASS: float32, float16 keep the predictions and fit 100.0 KB")

    def test_title_states_the_rule(self, unlabelled):
        assert unlabelled.title == ("source model (Python) on 400 rows, no labels; rule: output_0: "
                                    "rows that changed class within 2.0%, size within 100.0 KB")

    def test_table_has_no_metric_columns(self, unlabelled):
        headers, rows = unlabelled.table()
        assert list(headers) == ["weights", "total size", "gzip download", "weight files",
                                 "changed class", "largest diff", "parity ok", "fits budget",
                                 "verdict"]
        assert [r[4] for r in rows] == ["0.0%", "0.0%"]

    def test_plot_shows_the_rows_that_changed_class(self, unlabelled):
        assert unlabelled.plot() is unlabelled
        assert unlabelled.axes_[1].get_title().startswith("rows that changed class (%)")


class TestRegressionReport:
    REPORT = tfjs.QuantizationReport(
        (tfjs.Parity.from_metrics("float32", 70_000, REG_SOURCE, REG_SOURCE),
         tfjs.Parity.from_metrics("uint8", 20_000, REG_SOURCE, REG_WORSE)), (), 100 * 1024, None)

    def test_title_shows_the_regression_metrics(self):
        assert self.REPORT.title.startswith(
            "source model (Python): mae 8.75, rmse 9.014, r2 0.974; ")

    def test_table_has_the_task_columns(self):
        headers, rows = self.REPORT.table()
        assert list(headers[4:8]) == ["mae", "rmse", "r2", "largest change"]
        assert rows[1][4:8] == ["30", "30", "0.712", "mae +21.2"]

    def test_verdict_picks_the_setting_that_keeps_the_errors(self):
        assert self.REPORT.verdict == "PASS: float32 keeps every metric and fits 100.0 KB"

    def test_plot_draws_errors_relative_to_the_source(self):
        assert self.REPORT.plot() is self.REPORT
        assert self.REPORT.axes_[1].get_title().startswith("mae / the source's")


class TestReportFromFigures:
    def test_one_passing_setting(self):
        r = tfjs.QuantizationReport((tfjs.Parity.from_metrics("float16", 70_000, SOURCE, SOURCE),),
                                    (), 100 * 1024, None)
        assert r.ok and r.verdict == "PASS: float16 keeps every metric and fits 100.0 KB"

    def test_none_passing(self):
        r = tfjs.QuantizationReport((tfjs.Parity.from_metrics("float32", 200_000, SOURCE, SOURCE),),
                                    (), 100 * 1024, None)
        assert not r.ok and r.verdict == "FAIL: no setting keeps every metric and fits 100.0 KB"
        assert r.failures[0].label == "float32"


class TestDownloadBytes:
    def test_gzip_of_each_file_is_smaller_than_the_files(self, report):
        done = report.conversions[0]
        assert 0 < tfjs.download_bytes(done) < done.size_bytes

    def test_uint16_is_measured_beside_float16(self, small_model, small_split, tmp_path):
        both = tfjs.compare_quantizations(small_model, small_split.x, small_split.y, tmp_path,
                                          ["float16", "uint16"])
        assert both.labels == ["float16", "uint16"] and all(r.ok for r in both.results)
        assert "gzip download" in str(both)
