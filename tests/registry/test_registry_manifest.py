"""Tests of course_lib.registry.manifest: evaluation sets, fingerprints, versions, the table."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from registry_helpers import (
    multiclass_metrics,
    multiclass_set,
    regression_metrics,
    regression_set,
    toy_set,
)

from course_lib._display import Report
from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics
from course_lib.registry import MANIFEST_NAME, EvalSet, VersionTable, fingerprint


class TestFingerprint:
    def test_same_content_same_fingerprint_whatever_the_dtype(self):
        x = np.arange(16, dtype="float64").reshape(2, 8)
        assert fingerprint(x, [0, 1]) == fingerprint(x.astype("float32"), np.array([0, 1]))

    def test_one_changed_value_changes_it(self):
        x = np.zeros((2, 8))
        y = x.copy()
        y[1, 3] = 1e-3
        assert fingerprint(x, [0, 1]) != fingerprint(y, [0, 1])

    def test_labels_count(self):
        x = np.zeros((2, 8))
        assert fingerprint(x, [0, 1]) != fingerprint(x, [1, 0])


class TestEvalSet:
    def test_counts_rows_and_positives(self):
        s = toy_set()
        assert (s.rows, s.positives, len(s.fingerprint)) == (200, 100, 64)

    def test_repr_is_short(self):
        assert repr(toy_set()).startswith(
            "EvalSet('toy test', rows=200, positives=100, fingerprint='"
        )

    def test_mismatched_lengths_refused(self):
        with pytest.raises(InvalidInputError, match="x has 3 rows but y has 2 labels"):
            EvalSet("t", np.zeros((3, 8)), [0, 1])

    def test_non_binary_labels_refused(self):
        with pytest.raises(InvalidInputError, match="only 0 and 1"):
            EvalSet("t", np.zeros((2, 8)), [0, 2])

    def test_nan_features_refused(self):
        with pytest.raises(InvalidInputError, match="NaN"):
            EvalSet("t", [[np.nan] * 8], [1])

    def test_empty_name_refused(self):
        with pytest.raises(InvalidInputError, match="evaluation set's name"):
            EvalSet(" ", np.zeros((1, 8)), [1])


class TestTable:
    def test_shows_versions_aliases_and_metrics(self, two):
        two.promote("fraud", 1)
        text = str(two.table("fraud"))
        assert "production" in text and "0.842" in text and "0.895" in text  # recall v1, v2

    def test_html_has_one_row_per_version(self, two):
        assert two.table("fraud")._repr_html_().count("<tr>") == 3

    def test_invalid_folders_make_it_not_ok_and_are_named_in_the_verdict(self, two):
        (two.root / "fraud" / "3").mkdir()
        table = two.table("fraud")
        assert not table.ok and [s.version for s in table.failures] == [3]
        assert table.verdict.startswith("fraud: 2 versions; INVALID: 3 (no saved_model.pb")
        assert str(table).endswith(table.verdict)

    def test_empty_model_has_no_table(self, reg):
        table = reg.table("fraud")
        assert table.ok and table.table() is None and str(table) == "fraud: no versions yet"

    def test_is_a_report(self):
        assert issubclass(VersionTable, Report)


class TestVersionInfo:
    def test_str_has_metrics_size_and_latency_but_no_time(self, two):
        text = str(two.get("fraud", 1))
        assert "recall 0.842" in text and "KB" in text and "1.00 ms" in text
        assert "created" not in text and "created" in two.get("fraud", 1).details()

    def test_verdict_names_the_version_and_its_aliases(self, two):
        two.promote("fraud", 1)
        info = two.get("fraud", 1)
        assert info.heading == "fraud version 1 (production)"
        assert str(info).startswith(info.heading) and info.heading in info._repr_html_()

    def test_describe_files_rounded_to_a_tenth_of_a_kb(self, two):
        text = two.get("fraud", 1).describe_files(exact=False)
        assert re.search(r"^saved_model.pb +2.0 KB$", text, re.MULTILINE)
        assert "bytes" not in text.split("(")[0]
        assert "sha256" not in text.splitlines()[0] and "sha256" in text.splitlines()[-1]

    def test_repr_is_the_text(self, two):
        info = two.get("fraud", 1)
        assert repr(info) == str(info)


class TestTableOfAnyTask:
    def test_a_regression_shows_its_errors_and_r2(self, reg, src):
        reg.publish_saved_model(src, "dose", regression_set(), metrics=regression_metrics(20),
                                latency_ms=1)
        head, _rows = reg.table("dose").table()
        assert head == ("version", "aliases", "evaluated on", "mae", "rmse", "r2", "max_error",
                        "size", "latency", "notes")

    def test_a_multiclass_model_shows_accuracy_and_macro_averages(self, reg, src):
        reg.publish_saved_model(src, "shapes", multiclass_set(), metrics=multiclass_metrics(6),
                                latency_ms=1)
        head, rows = reg.table("shapes").table()
        assert head[3:7] == ("accuracy", "precision", "recall", "f1")
        assert rows[0][3] == f"{multiclass_metrics(6).accuracy:.3f}"

    def test_versions_of_several_tasks_get_a_task_column_and_dashes(self, two, src):
        two.publish_saved_model(src, "fraud", regression_set(), metrics=regression_metrics(20),
                                latency_ms=1)
        head, rows = two.table("fraud").table()
        assert head[3] == "task" and [r[3] for r in rows] == ["binary", "binary", "regression"]
        assert rows[0][head.index("rmse")] == "-" and rows[2][head.index("recall")] == "-"


class TestVersionInfoOfAnyTask:
    def test_a_regression_records_no_threshold(self, reg, src):
        v = reg.publish_saved_model(src, "dose", regression_set(),
                                    metrics=regression_metrics(20), latency_ms=1)
        lines = str(v).splitlines()
        assert (v.task, v.threshold) == ("regression", None)
        assert lines[1].endswith("a regression") and lines[2].lstrip().startswith("mae ")

    def test_a_multiclass_model_says_its_averages_are_macro(self, reg, src):
        v = reg.publish_saved_model(src, "shapes", multiclass_set(),
                                    metrics=multiclass_metrics(6), latency_ms=1)
        assert "macro averages over 3 classes" in str(v) and v.metrics == multiclass_metrics(6)

    def test_the_manifest_records_the_task(self, reg, src):
        v = reg.publish_saved_model(src, "shapes", multiclass_set(),
                                    metrics=multiclass_metrics(6), latency_ms=1)
        evaluation = json.loads((v.path / MANIFEST_NAME).read_text())["evaluation"]
        assert evaluation["task"] == "multiclass" and "positives" not in evaluation
        assert evaluation["metrics"]["confusion_matrix"][2] == [6, 0, 24]

    def test_a_binary_classifiers_class_names_are_kept(self, reg, src):
        s = EvalSet("t", np.zeros((4, 1)), ["no", "yes", "yes", "no"], class_names=["no", "yes"])
        m = Metrics.from_predictions(s.y, [0.1, 0.9, 0.2, 0.3], class_names=["no", "yes"])
        v = reg.publish_saved_model(src, "churn", s, metrics=m, latency_ms=1)
        assert reg.get("churn", v.version).metrics.class_names == ("no", "yes")

    def test_details_of_a_multiclass_model_show_each_class(self, reg, src):
        v = reg.publish_saved_model(src, "shapes", multiclass_set(),
                                    metrics=multiclass_metrics(6), latency_ms=1)
        text = reg.get("shapes", v.version).details()
        assert "  per class:" in text and re.search(r"^ +2 +1\.000 +0\.800 +0\.889 +30$", text, re.MULTILINE)
