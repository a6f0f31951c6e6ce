"""Tests of course_lib.persistence.roundtrips: one format's round trip, every format side by side."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import _display, persistence
from course_lib.errors import InvalidInputError, ModelFileError


@pytest.fixture(scope="module")
def formats_report(fraud_model, fraud, tmp_path_factory):
    return persistence.compare_formats(fraud_model, fraud.test.x, fraud.test.y,
                                       tmp_path_factory.mktemp("formats"))


class TestRoundtrip:
    @pytest.mark.parametrize("fmt", ["keras", "savedmodel", "h5"])
    def test_every_format_keeps_metrics_and_predictions(self, fraud_model, fraud, tmp_path, fmt):
        rt = persistence.roundtrip(fraud_model, fraud.test.x, fraud.test.y, format=fmt,
                                   directory=tmp_path)
        assert rt.ok and rt.before == rt.after and rt.max_abs_diff < 1e-6

    def test_report_names_both_sides(self, fraud_model, fraud, tmp_path):
        rt = persistence.roundtrip(fraud_model, fraud.test.x, fraud.test.y, directory=tmp_path)
        assert "before saving" in str(rt) and "after loading" in str(rt)
        assert rt.verdict == (f"{rt.comparison.verdict}, the loss too; predictions within "
                              "1e-05, no row changed class") and rt.failures == ()
        assert str(rt).splitlines()[0] == (
            f"keras: {_display.size(rt.size_bytes)}, "
            f"saved in {_display.duration(rt.save_seconds)}, "
            f"loaded in {_display.duration(rt.load_seconds)}, "
            f"largest prediction difference {rt.max_abs_diff:.2e}")
        assert "<table" in rt._repr_html_() and repr(rt) == str(rt)

    def test_file_goes_to_the_directory_named_after_the_model(self, fraud_model, fraud, tmp_path):
        rt = persistence.roundtrip(fraud_model, fraud.test.x[:50], fraud.test.y[:50],
                                   format="h5", directory=tmp_path)
        assert rt.path == tmp_path / "fraud_model.h5" and rt.path.is_file()

    def test_unknown_format(self, fraud_model, fraud):
        with pytest.raises(InvalidInputError, match="found 'pickle'"):
            persistence.roundtrip(fraud_model, fraud.test.x, fraud.test.y, format="pickle")

    def test_features_of_the_wrong_width(self, fraud_model, fraud, tmp_path):
        with pytest.raises(InvalidInputError, match=r"input 'features' of shape \(n, 8\)"):
            persistence.roundtrip(fraud_model, fraud.test.x[:, :7], fraud.test.y,
                                  directory=tmp_path)
        assert list(tmp_path.iterdir()) == []

    def test_negative_tolerance(self, fraud_model, fraud):
        with pytest.raises(InvalidInputError, match="tolerance to be a number of 0 or more"):
            persistence.roundtrip(fraud_model, fraud.test.x, fraud.test.y, tolerance=-1)


class TestRoundtripLoss:
    def test_the_compiled_loss_before_and_after_is_a_row_of_the_table(self, fraud_model, fraud,
                                                                       tmp_path):
        rt = persistence.roundtrip(fraud_model, fraud.test.x, fraud.test.y, "savedmodel",
                                   directory=tmp_path)
        from sklearn.metrics import log_loss

        scores = np.asarray(fraud_model(fraud.test.x)).ravel()  # evaluate would build state
        assert rt.loss.before == pytest.approx(log_loss(fraud.test.y, scores), abs=1e-5)
        assert rt.loss.ok
        assert rt.table()[1][-1] == ["loss", f"{rt.loss.before:.3f}", f"{rt.loss.after:.3f}",
                                     f"{rt.loss.delta:+.3f}", "yes"]

    def test_a_loss_that_moves_fails_even_when_the_metrics_hold(self, fraud_model, fraud,
                                                                tmp_path):
        from dataclasses import replace

        from course_lib.metrics import MetricDelta

        rt = persistence.roundtrip(fraud_model, fraud.test.x, fraud.test.y, directory=tmp_path)
        moved = replace(rt, loss=MetricDelta("loss", 0.30, 0.35, 0.01))
        assert rt.comparison.ok and not moved.ok and moved.failures == (moved.loss,)
        assert moved.verdict == "NOT OK: loss +0.05 (allowed ±0.01)"

    def test_no_loss_without_labels_or_a_compiled_loss(self, fraud_model, fraud, tmp_path):
        from course_lib import _tf

        keras = _tf.keras()
        inputs = keras.Input((8,), name="features")
        uncompiled = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
        assert persistence.roundtrip(fraud_model, fraud.test.x, directory=tmp_path).loss is None
        rt = persistence.roundtrip(uncompiled, fraud.test.x, fraud.test.y, directory=tmp_path)
        assert rt.loss is None and "loss" not in rt.verdict

    def test_a_regression_loss_is_allowed_a_relative_change(self, diabetes_model, diabetes,
                                                            tmp_path):
        rt = persistence.roundtrip(diabetes_model, diabetes[1].x, diabetes[1].y, "savedmodel",
                                   directory=tmp_path)
        assert rt.loss.before > 1 and rt.loss.tolerance == pytest.approx(0.01 * rt.loss.before)

    def test_text_labels_have_no_loss(self, fraud_model, fraud):
        scores = fraud_model.predict(fraud.test.x[:4], verbose=0)
        assert persistence.model_loss(fraud_model, ["no", "yes", "no", "no"], scores) is None


class TestCompareFormats:
    def test_every_format_shows_the_loss_after_loading(self, formats_report):
        headers, rows = formats_report.table()
        column = headers.index("loss")
        assert len({r[column] for r in rows}) == 1 and all(r.loss > 0 for r in formats_report.rows)

    def test_one_row_per_format_all_consistent(self, formats_report):
        assert [r.format for r in formats_report.rows] == ["keras", "savedmodel", "h5"]
        assert all(r.ok and r.max_abs_diff < 1e-6 for r in formats_report.rows)
        assert set(formats_report.roundtrips) == {"keras", "savedmodel", "h5"}

    def test_text_has_units_on_timings(self, formats_report):
        text = repr(formats_report)
        assert "KB" in text
        for r in formats_report.rows:
            saved, loaded = _display.duration(r.save_seconds), _display.duration(r.load_seconds)
            assert saved.endswith((" µs", " ms", " s")) and loaded.endswith((" µs", " ms", " s"))
            assert f"{r.format}: saved in {saved}, loaded in {loaded}" in text

    def test_verdict_and_html(self, formats_report):
        assert formats_report.ok and formats_report.verdict == (
            "OK: every format gives the same metrics (within 0.01) and predictions "
            "(within 1e-05) after loading")
        page = formats_report._repr_html_()
        assert "who can consume it" in page and "same after loading" in page
        assert _display.duration(formats_report.rows[0].save_seconds) in page

    def test_a_changed_format_is_named(self, formats_report):
        from dataclasses import replace

        rows = (formats_report.rows[0], replace(formats_report.rows[2], ok=False))
        report = persistence.FormatsReport(rows, tolerance=0.01)
        assert not report.ok and report.failures == (rows[1],)
        assert report.verdict == (
            "NOT OK: h5 changed after loading (largest prediction difference 0.0e+00)")

    def test_only_the_asked_formats(self, fraud_model, fraud, tmp_path):
        report = persistence.compare_formats(fraud_model, fraud.test.x, fraud.test.y, tmp_path,
                                             formats=["keras"])
        assert [r.format for r in report.rows] == ["keras"]

    @pytest.mark.parametrize("formats", ["keras", [], ["keras", "onnx"]])
    def test_bad_formats_are_refused_before_any_save(self, fraud_model, fraud, tmp_path, formats):
        with pytest.raises(InvalidInputError, match="format"):
            persistence.compare_formats(fraud_model, fraud.test.x, fraud.test.y, tmp_path,
                                        formats=formats)
        assert list(tmp_path.iterdir()) == []


class TestRoundtripWithoutLabels:
    def test_judged_by_the_predictions_only(self, fraud_model, fraud, tmp_path):
        rt = persistence.roundtrip(fraud_model, fraud.test.x, directory=tmp_path)
        assert rt.ok and rt.comparison is None and rt.before is None and rt.after is None
        assert rt.difference.n_rows == len(fraud.test.x) and rt.changed == 0

    def test_verdict_is_the_prediction_difference(self, fraud_model, fraud, tmp_path):
        rt = persistence.roundtrip(fraud_model, fraud.test.x, format="h5", directory=tmp_path)
        assert rt.verdict == (
            "OK: after loading predicts what before saving predicted on 4,001 rows (largest "
            "difference 0.0e+00, within 1e-05; no row changed class)")
        assert rt.table() is None and str(rt).splitlines()[-1] == rt.verdict

    def test_moved_predictions_fail_without_labels(self, fraud_model, fraud, tmp_path):
        from dataclasses import replace

        from course_lib.metrics import prediction_difference

        rt = persistence.roundtrip(fraud_model, fraud.test.x[:10], directory=tmp_path)
        labels = ("before saving", "after loading")
        moved = replace(rt, difference=prediction_difference([0.2, 0.7], [0.2, 0.4], labels=labels))
        assert not moved.ok and moved.verdict == (
            "NOT OK: predictions differ by up to 0.3; 1 of 2 rows changed class")
        assert moved.failures == moved.difference.failures

    def test_moved_predictions_fail_even_when_the_metrics_hold(self, fraud_model, fraud, tmp_path):
        from dataclasses import replace

        from course_lib.metrics import prediction_difference

        rt = persistence.roundtrip(fraud_model, fraud.test.x, fraud.test.y, directory=tmp_path)
        moved = replace(rt, difference=prediction_difference([0.20], [0.21]))
        assert rt.comparison.ok and not moved.ok
        assert moved.verdict == "NOT OK: predictions differ by up to 0.01"

    def test_negative_output_tolerance(self, fraud_model, fraud):
        with pytest.raises(InvalidInputError, match="output_tolerance to be a number of 0 or more"):
            persistence.roundtrip(fraud_model, fraud.test.x, output_tolerance=-1)


class TestRoundtripOfAnyModel:
    def test_multiclass_images(self, digits_model, digits, tmp_path):
        rt = persistence.roundtrip(digits_model, digits[1].x, digits[1].y, "savedmodel",
                                   directory=tmp_path)
        assert rt.ok and rt.task == "multiclass" and rt.changed == 0
        assert [r.name for r in rt.comparison.rows] == ["accuracy", "precision", "recall", "f1"]

    def test_regression_metrics_and_a_tolerance_relative_to_the_outputs(
            self, diabetes_model, diabetes, tmp_path):
        rt = persistence.roundtrip(diabetes_model, diabetes[1].x, diabetes[1].y, "savedmodel",
                                   directory=tmp_path)
        largest = float(abs(diabetes_model.predict(diabetes[1].x, verbose=0)).max())
        assert rt.ok and rt.task == "regression" and rt.changed is None
        assert rt.difference.tolerance == pytest.approx(1e-5 * largest)

    def test_two_inputs_as_a_dict(self, two_input_model, two_inputs, tmp_path):
        x, y = two_inputs[1]
        rt = persistence.roundtrip(two_input_model, x, y, "savedmodel", directory=tmp_path)
        assert rt.ok and rt.before == rt.after and rt.max_abs_diff < 1e-6

    @pytest.mark.parametrize("fmt", ["keras", "savedmodel", "h5"])
    def test_several_outputs_are_matched_by_name_or_position(self, multi_output_model, tmp_path,
                                                            fmt):
        rt = persistence.roundtrip(multi_output_model, np.ones((6, 4)), format=fmt,
                                   directory=tmp_path)
        assert rt.ok and rt.difference.n_rows == 6

    def test_several_outputs_with_labels_point_at_y_none(self, multi_output_model, tmp_path):
        with pytest.raises(InvalidInputError, match=r"has 2 \(score, kind\).*y=None"):
            persistence.roundtrip(multi_output_model, np.ones((4, 4)), [0, 1, 0, 1],
                                  directory=tmp_path)
        assert list(tmp_path.iterdir()) == []

    def test_a_binary_softmax_of_two_columns(self, fraud, tmp_path):
        from course_lib import _tf

        keras = _tf.keras()
        inputs = keras.Input((8,), name="features")
        model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs),
                            name="softmax2")
        rt = persistence.roundtrip(model, fraud.test.x, fraud.test.y, "savedmodel",
                                   directory=tmp_path)
        assert rt.ok and rt.task == "binary" and rt.changed == 0

    def test_task_is_passed_on(self, fraud_model, fraud, tmp_path):
        rt = persistence.roundtrip(fraud_model, fraud.test.x, fraud.test.y, task="regression",
                                   directory=tmp_path)
        assert rt.task == "regression" and rt.before.names[0] == "mae" and rt.changed is None

    def test_a_legacy_loss_points_at_compile_false(self, diabetes_model, diabetes, tmp_path):
        with pytest.raises(ModelFileError, match="compile=False"):
            persistence.roundtrip(diabetes_model, diabetes[1].x, format="h5", directory=tmp_path)

    def test_compile_is_passed_on_to_load(self, diabetes_model, diabetes, tmp_path):
        rt = persistence.roundtrip(diabetes_model, diabetes[1].x, diabetes[1].y, "h5",
                                   compile=False, directory=tmp_path)
        assert rt.ok and rt.before == rt.after

    def test_bad_task_is_refused(self, fraud_model, fraud):
        with pytest.raises(InvalidInputError, match="task to be one of binary, multiclass"):
            persistence.roundtrip(fraud_model, fraud.test.x, task="ranking")


class TestCompareFormatsOfAnyModel:
    def test_without_labels(self, two_input_model, two_inputs, tmp_path):
        report = persistence.compare_formats(two_input_model, two_inputs[1][0],
                                             directory=tmp_path)
        assert report.ok and all(r.metrics is None and r.changed == 0 for r in report.rows)
        assert report.verdict == ("OK: every format gives the same predictions after loading "
                                  "(within 1e-05)")
        assert "accuracy" not in report.table()[0]

    def test_the_task_metrics_are_columns(self, digits_model, digits, tmp_path):
        report = persistence.compare_formats(digits_model, digits[1].x, digits[1].y, tmp_path,
                                             formats=["keras", "savedmodel"])
        headers, rows = report.table()
        assert headers[4:10] == ["largest prediction difference", "rows changed class",
                                 "accuracy", "precision", "recall", "f1"]
        assert rows[0][6] == f"{report.rows[0].metrics.accuracy:.3f}"

    def test_regression_columns(self, diabetes_model, diabetes, tmp_path):
        report = persistence.compare_formats(diabetes_model, diabetes[1].x, diabetes[1].y,
                                             tmp_path, formats=["keras"])
        headers = report.table()[0]
        assert {"mae", "rmse", "r2", "max_error"} <= set(headers)
        assert "rows changed class" not in headers

    def test_a_failed_roundtrip_says_what_moved(self, formats_report):
        from dataclasses import replace

        from course_lib.metrics import prediction_difference

        moved = replace(formats_report.roundtrips["h5"],
                        difference=prediction_difference([0.2, 0.7], [0.2, 0.4]))
        rows = (formats_report.rows[0], replace(formats_report.rows[2], ok=False))
        report = persistence.FormatsReport(rows, 0.01, {"h5": moved})
        assert report.verdict == ("NOT OK: h5 changed after loading: predictions differ by up "
                                  "to 0.3; 1 of 2 rows changed class")

    def test_directory_defaults_to_a_temporary_folder(self, fraud_model, fraud):
        report = persistence.compare_formats(fraud_model, fraud.test.x[:50], formats=["keras"])
        assert report.ok and report.roundtrips["keras"].path.is_file()
