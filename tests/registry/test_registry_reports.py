"""Tests of course_lib.registry.reports: verifying files, comparing two versions."""

from __future__ import annotations

import shutil

import pytest
from registry_helpers import (
    FAKE_FILES,
    SEED_V2,
    WORSE_RECALL,
    multiclass_metrics,
    multiclass_set,
    regression_metrics,
    regression_set,
    toy_set,
)

from course_lib._display import Report
from course_lib.errors import InvalidInputError, VersionNotFoundError
from course_lib.metrics import MulticlassMetrics
from course_lib.registry import (
    MANIFEST_NAME,
    IncomparableVersionsError,
    IntegrityError,
    VerifyReport,
    VersionComparison,
    flip_byte,
)
from course_lib.registry import reports
from course_lib.registry.reports import check_files


class TestVerify:
    def test_untouched_version_verifies(self, two):
        report = two.verify("fraud", 1)
        assert report.ok and report.files_checked == len(FAKE_FILES) + 1
        assert "OK" in str(report)

    @pytest.mark.parametrize("rel", [*FAKE_FILES, MANIFEST_NAME])
    def test_a_changed_byte_in_any_file_is_named(self, two, rel):
        flip_byte(two.path("fraud", 1) / rel)
        report = two.verify("fraud", 1)
        assert not report.ok
        assert [p.path for p in report.problems] == [rel]
        assert rel in report.verdict

    def test_a_changed_byte_at_the_start_of_the_manifest_is_caught(self, two):
        flip_byte(two.path("fraud", 1) / MANIFEST_NAME, offset=0)
        assert [p.path for p in two.verify("fraud", 1).problems] == [MANIFEST_NAME]

    def test_an_edited_metric_in_the_manifest_is_caught(self, two):
        p = two.path("fraud", 1) / MANIFEST_NAME
        p.write_text(p.read_text().replace('"tp": 80', '"tp": 90'))
        assert "changed" in two.verify("fraud", 1).problems[0].problem

    def test_missing_file_is_named(self, two):
        (two.path("fraud", 1) / "fingerprint.pb").unlink()
        assert str(two.verify("fraud", 1).problems[0]).startswith("fingerprint.pb: missing")

    def test_added_file_is_named(self, two):
        (two.path("fraud", 1) / "variables" / "extra.bin").write_bytes(b"x")
        assert str(two.verify("fraud", 1).problems[0]).startswith("variables/extra.bin: unexpected")

    def test_version_copied_to_another_number_is_caught(self, two):
        shutil.copytree(two.path("fraud", 2), two.root / "fraud" / "5")
        assert "copied or renamed" in two.verify("fraud", 5).problems[0].problem

    def test_verify_all_covers_every_numbered_folder(self, two):
        flip_byte(two.path("fraud", 2) / "saved_model.pb")
        assert [r.ok for r in two.verify_all("fraud")] == [True, False]


class TestCompare:
    def test_deltas_size_and_latency(self, two):
        c = two.compare("fraud", 1, 2)
        assert c.same_data and round(c.rows[1].delta, 3) == 0.05  # precision 0.80 -> 0.85
        text = str(c)
        assert "1.00 ms" in text and "1.20 ms" in text and "1.00x" in text and "FN" in text

    def test_improved_version_is_good_per_the_seed(self, two):
        assert two.compare("fraud", 1, 2).verdict.startswith("NO REGRESSION")

    def test_a_recall_drop_is_bad_and_named(self, two, src):
        two.publish_saved_model(src, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=1)
        c = two.compare("fraud", 2, 3)
        assert c.verdict.startswith("REGRESSION") and [r.name for r in c.regressions] == [
            "accuracy",
            "recall",
            "f1",
        ]

    def test_different_evaluation_data_is_refused(self, two, src):
        two.publish_saved_model(
            src, "fraud", toy_set("toy validation", seed=1), metrics=SEED_V2, latency_ms=1
        )
        with pytest.raises(
            IncomparableVersionsError, match="evaluated on the same data.*'toy validation'"
        ):
            two.compare("fraud", 2, 3)

    def test_different_data_can_be_shown_flagged(self, two, src):
        two.publish_saved_model(
            src, "fraud", toy_set("toy validation", seed=1), metrics=SEED_V2, latency_ms=1
        )
        c = two.compare("fraud", 2, 3, allow_different_data=True)
        assert (
            not c.same_data
            and c.verdict.startswith("NOT COMPARABLE")
            and "DIFFERENT DATA" in str(c)
        )

    def test_plot_draws_both_confusion_matrices(self, two):
        c = two.compare("fraud", 1, 2)
        assert c.plot() is c
        matrices = c.ax_.child_axes
        assert [ax.get_title().split(":")[0] for ax in matrices] == ["version 1", "version 2"]
        assert c.figure_ is c.ax_.figure and "1.00 ms" in matrices[0].get_title()

    def test_plot_draws_into_the_given_axes(self, two):
        from course_lib.plots import new_figure

        ax = new_figure(8, 4).add_subplot()
        c = two.compare("fraud", 1, 2)
        assert c.plot(ax=ax) is c and c.ax_ is ax and len(ax.child_axes) == 2

    def test_plot_refuses_something_that_is_not_axes(self, two):
        with pytest.raises(InvalidInputError, match="expected ax to be a matplotlib Axes"):
            two.compare("fraud", 1, 2).plot(ax="left")

    def test_ok_is_the_good_verdict(self, two, src):
        assert two.compare("fraud", 1, 2).ok
        two.publish_saved_model(src, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=1)
        c = two.compare("fraud", 2, 3)
        assert not c.ok and c.failures == c.regressions

    def test_text_and_html_share_the_table_and_verdict(self, two):
        c = two.compare("fraud", 1, 2)
        assert str(c).splitlines()[0].startswith("fraud: both evaluated on 'toy test'")
        assert str(c).endswith(c.verdict) and c.verdict in c._repr_html_()
        assert c._repr_html_().count("<tr>") == 1 + len(c.table()[1])


class TestCheckFiles:
    def test_a_folder_without_manifest_or_model(self, tmp_path):
        report = check_files("fraud", 1, tmp_path)
        assert [p.path for p in report.problems] == ["saved_model.pb", "course_manifest.json"]

    def test_a_file_is_not_a_folder(self, tmp_path):
        (tmp_path / "1").write_text("x")
        assert str(check_files("fraud", 1, tmp_path / "1").problems[0]) == "1: not a folder"

    def test_a_folder_gone_before_its_manifest_is_read_is_not_found(self, two, monkeypatch):
        read = reports._read_manifest

        def deleted_meanwhile(name, version, d):
            shutil.rmtree(d)  # another process deletes the version at this moment
            return read(name, version, d)

        monkeypatch.setattr(reports, "_read_manifest", deleted_meanwhile)
        with pytest.raises(VersionNotFoundError, match="another process deleted it meanwhile"):
            two.verify("fraud", 1)

    def test_a_folder_gone_before_it_is_checked_is_not_found(self, tmp_path):
        with pytest.raises(VersionNotFoundError, match="fraud version 1 to exist while being"):
            check_files("fraud", 1, tmp_path / "1")

    def test_a_symbolic_link_inside_is_named_not_followed(self, two, tmp_path):
        (tmp_path / "outside.bin").write_bytes(b"x")
        (two.path("fraud", 1) / "variables" / "link").symlink_to(tmp_path / "outside.bin")
        (problem,) = two.verify("fraud", 1).problems
        assert problem.path == "variables/link" and "symbolic link" in problem.problem


class TestVerifyReport:
    def test_raise_if_failed_names_the_files(self, two):
        flip_byte(two.path("fraud", 1) / "saved_model.pb")
        report = two.verify("fraud", 1)
        with pytest.raises(IntegrityError, match="saved_model.pb: content changed") as failed:
            report.raise_if_failed("loading it")
        assert failed.value.report is report and report.failures == report.problems

    def test_text_is_the_verdict_and_html_colours_it(self, two):
        report = two.verify("fraud", 1)
        assert str(report) == repr(report) == report.verdict
        assert "#1a7f37" in report._repr_html_()

    @pytest.mark.parametrize("cls", [VerifyReport, VersionComparison])
    def test_is_a_report(self, cls):
        assert issubclass(cls, Report)


class TestCompareAnyTask:
    def test_a_regression_shows_its_errors_and_r2(self, reg, src):
        s = regression_set()
        reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(20), latency_ms=1)
        reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(30), latency_ms=1)
        c = reg.compare("dose", 1, 2)
        assert [r[0] for r in c.table()[1]] == [
            "mae", "rmse", "r2", "max_error", "size", "latency (1 row)"]

    def test_a_regressions_growing_error_is_bad(self, reg, src):
        s = regression_set()
        reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(20), latency_ms=1)
        reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(30), latency_ms=1)
        c = reg.compare("dose", 1, 2)
        assert not c.ok and {"mae", "rmse", "max_error"} <= {r.name for r in c.regressions}
        assert c.verdict.startswith("REGRESSION: version 2 is worse than version 1 on mae +")
        assert "no error more than 1% larger" in c.verdict

    def test_a_regressions_falling_error_is_good(self, reg, src):
        s = regression_set()
        reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(30), latency_ms=1)
        reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(20), latency_ms=1)
        assert reg.compare("dose", 1, 2).verdict.startswith("NO REGRESSION")

    def test_the_tolerance_of_a_regressions_error_is_relative(self, reg, src):
        s = regression_set()
        reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(20), latency_ms=1)
        c = reg.compare("dose", 1, 1, tolerance=0.05)
        rmse = reg.get("dose", 1).metrics.rmse
        assert c.rows[1].name == "rmse" and c.rows[1].tolerance == pytest.approx(0.05 * rmse)

    def test_a_multiclass_model_shows_accuracy_and_macro_averages(self, reg, src):
        s = multiclass_set()
        reg.publish_saved_model(src, "shapes", s, metrics=multiclass_metrics(6), latency_ms=1)
        reg.publish_saved_model(src, "shapes", s, metrics=multiclass_metrics(0), latency_ms=1)
        c = reg.compare("shapes", 1, 2)
        assert [r[0] for r in c.table()[1]][:4] == [
            "accuracy", "macro precision", "macro recall", "macro f1"]
        assert c.ok and "TP" not in str(c)

    def test_plot_of_a_multiclass_model_draws_k_by_k_matrices(self, reg, src):
        s = multiclass_set()
        reg.publish_saved_model(src, "shapes", s, metrics=multiclass_metrics(6), latency_ms=1)
        c = reg.compare("shapes", 1, 1).plot()
        first = c.ax_.child_axes[0]
        assert len(first.texts) == 9 and "macro recall" in first.get_title()
        assert [t.get_text() for t in first.get_xticklabels()] == ["0", "1", "2"]

    def test_plot_of_a_regression_draws_its_errors(self, reg, src):
        s = regression_set()
        reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(20), latency_ms=1)
        c = reg.compare("dose", 1, 1).plot()
        assert c.plot() is c and len(c.ax_.patches) == 6  # mae, rmse, max_error for 2 versions
        assert [t.get_text() for t in c.ax_.get_xticklabels()] == ["mae", "rmse", "max_error"]

    def test_versions_of_different_tasks_are_refused(self, two, src):
        two.publish_saved_model(src, "fraud", regression_set(), metrics=regression_metrics(20),
                                latency_ms=1)
        with pytest.raises(IncomparableVersionsError,
                           match="same task; version 1 is a binary classifier, version 3 a "
                                 "regression"):
            two.compare("fraud", 1, 3, allow_different_data=True)

    def test_metrics_of_versions_of_different_tasks_are_refused(self, two, src):
        two_classes = MulticlassMetrics.from_predictions([0, 1] * 100, [0, 1] * 100)
        two.publish_saved_model(src, "fraud", toy_set(), metrics=two_classes, latency_ms=1)
        with pytest.raises(IncomparableVersionsError, match="one task"):
            two.metrics("fraud")
