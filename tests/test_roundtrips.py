"""Tests of course_lib.persistence.roundtrips: one format's round trip, every format side by side."""

from __future__ import annotations

import pytest

from course_lib import _display, persistence
from course_lib.errors import InvalidInputError


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
        assert rt.verdict == rt.comparison.verdict and rt.failures == ()
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


class TestCompareFormats:
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
            "OK: every format gives the same metrics after loading (within 0.01)")
        page = formats_report._repr_html_()
        assert "who can consume it" in page and "every metric within 0.01" in page
        assert _display.duration(formats_report.rows[0].save_seconds) in page

    def test_a_changed_format_is_named(self, formats_report):
        from dataclasses import replace

        rows = (formats_report.rows[0], replace(formats_report.rows[2], ok=False))
        report = persistence.FormatsReport(rows, tolerance=0.01)
        assert not report.ok and report.failures == (rows[1],)
        assert report.verdict == "NOT OK: the metrics changed after loading for h5 (tolerance 0.01)"

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
