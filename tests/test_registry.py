"""Tests of course_lib.registry: layout, manifests, verify, compare, gate, aliases, crash safety.

Most tests use small fake SavedModel folders (random bytes named like a SavedModel)
published with known metrics: they exercise the registry without TensorFlow, and run in
subprocesses cheaply (crash and concurrency tests). A few use real Keras models,
trained once per module.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics
from course_lib.registry import (
    MANIFEST_NAME,
    AliasInUseError,
    EvalSet,
    Gate,
    IncomparableVersionsError,
    IntegrityError,
    InvalidNameError,
    InvalidVersionError,
    ModelRegistry,
    PromotionRefusedError,
    RegistryError,
    RollbackRefusedError,
    VersionNotFoundError,
    break_even_miss_cost,
    deployment_costs,
    fingerprint,
    flip_byte,
    tree,
    validate_alias,
    validate_name,
    validate_version,
)

ROOT = Path(__file__).resolve().parents[1]
FAKE_FILES = (
    "saved_model.pb",
    "fingerprint.pb",
    "variables/variables.data-00000-of-00001",
    "variables/variables.index",
)
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}


# -- fixtures -------------------------------------------------------------------------------------


def fake_saved_model(folder: Path, seed: int = 0, size: int = 2000) -> Path:
    """A folder shaped like a SavedModel (random bytes): enough for everything but loading."""
    rng = np.random.default_rng(seed)
    for rel in FAKE_FILES:
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.bytes(size))
    (folder / "assets").mkdir(exist_ok=True)
    return folder


def toy_set(name: str = "toy test", seed: int = 0) -> EvalSet:
    rng = np.random.default_rng(seed)
    return EvalSet(name, rng.normal(size=(200, 8)), np.array([0, 1] * 100))


SEED_V1 = Metrics.from_counts(tp=80, fp=20, fn=15, tn=85)  # the seed's two versions
SEED_V2 = Metrics.from_counts(tp=85, fp=15, fn=10, tn=90)
WORSE_RECALL = Metrics.from_counts(tp=50, fp=2, fn=45, tn=103)  # higher precision, far lower recall
MORE_ACCURATE = Metrics.from_counts(
    tp=80, fp=1, fn=15, tn=104
)  # fewer mistakes, lower recall than v2


@pytest.fixture
def src(tmp_path):
    return fake_saved_model(tmp_path / "export")


@pytest.fixture
def reg(tmp_path):
    return ModelRegistry(tmp_path / "registry")


@pytest.fixture
def two(reg, src):
    """A registry with the seed's v1 and v2 published on the same toy test set."""
    s = toy_set()
    reg.publish_saved_model(src, "fraud", s, metrics=SEED_V1, latency_ms=1.0, notes="v1")
    reg.publish_saved_model(src, "fraud", s, metrics=SEED_V2, latency_ms=1.2, notes="v2")
    return reg


@pytest.fixture(scope="module")
def keras_models():
    from course_lib import data, models

    fraud = data.load_fraud()
    small = models.build_fraud_model(fraud.train.x, hidden=(4,), seed=1)
    models.train(small, fraud.train, epochs=1, class_weight="balanced", seed=1)
    big = models.build_fraud_model(fraud.train.x, hidden=(32,), seed=2)
    models.train(big, fraud.train, epochs=1, class_weight="balanced", seed=2)
    return fraud, small, big


@pytest.fixture(scope="module")
def real_registry(tmp_path_factory, keras_models):
    """Versions 1 (small model) and 2 (bigger, with a .keras file) of real Keras models."""
    fraud, small, big = keras_models
    reg = ModelRegistry(tmp_path_factory.mktemp("real") / "registry")
    test = EvalSet("fraud test", fraud.test.x, fraud.test.y)
    reg.publish(small, "fraud", test, notes="small")
    reg.publish(big, "fraud", test, keras_file=True, tags={"owner": "course"})
    return reg


@pytest.fixture
def real(real_registry, tmp_path):
    """A private copy of the real registry (copying is cheap; tests may change it)."""
    copy = tmp_path / "copy"
    shutil.copytree(real_registry.root, copy)
    return ModelRegistry(copy)


# -- allow-lists ----------------------------------------------------------------------------------


class TestValidateName:
    @pytest.mark.parametrize("name", ["fraud", "fraud-detector", "Fraud_2", "7"])
    def test_plain_names_pass(self, name):
        assert validate_name(name) == name

    @pytest.mark.parametrize(
        "name",
        [
            "../x",
            "a/b",
            "/abs",
            "",
            "..",
            ".hidden",
            "-x",
            "a b",
            "x\n",
            "a" * 65,
            "C:\\x",
            None,
            3,
        ],
    )
    def test_path_like_or_odd_names_are_refused(self, name):
        with pytest.raises(InvalidNameError, match="expected a model name"):
            validate_name(name)

    def test_publish_refuses_a_bad_name_before_writing(self, reg, src):
        with pytest.raises(InvalidNameError, match=r"found '\.\./x'"):
            reg.publish_saved_model(src, "../x", toy_set(), metrics=SEED_V1, latency_ms=1.0)
        assert not (reg.root.parent / "x").exists() and reg.names() == []


class TestValidateVersion:
    @pytest.mark.parametrize(("value", "expected"), [(1, 1), ("12", 12), (np.int64(3), 3)])
    def test_plain_numbers_pass(self, value, expected):
        assert validate_version(value) == expected

    @pytest.mark.parametrize(
        "value", ["01", "-1", "1e3", "", "0", 0, -1, True, 1.0, "1.0", " 1", "a", "../1", None]
    )
    def test_other_forms_are_refused(self, value):
        with pytest.raises(InvalidNameError, match="expected a version number"):
            validate_version(value)

    @pytest.mark.parametrize("ref", ["01", "-1", "1e3", "", "../1", "/1"])
    def test_registry_lookups_refuse_them_too(self, two, ref):
        with pytest.raises(InvalidNameError, match="expected a version number .* or an alias"):
            two.get("fraud", ref)


class TestValidateAlias:
    def test_lowercase_word_passes(self):
        assert validate_alias("production") == "production"

    @pytest.mark.parametrize("alias", ["latest", "1", "Prod", "../x", "", "a" * 33])
    def test_reserved_numeric_or_path_like_refused(self, alias):
        with pytest.raises(InvalidNameError, match="expected an alias"):
            validate_alias(alias)


class TestPathsStayInsideRoot:
    def test_symlinked_version_pointing_outside_is_refused(self, two, tmp_path):
        outside = fake_saved_model(tmp_path / "elsewhere")
        (two.root / "fraud" / "3").symlink_to(outside, target_is_directory=True)
        assert two.versions("fraud") == [1, 2]
        assert "symbolic link" in two.scan("fraud")[-1].reason
        with pytest.raises(InvalidNameError, match="stay inside"):
            two.verify("fraud", 3)

    def test_symlinked_model_folder_is_refused(self, reg, tmp_path):
        (tmp_path / "other").mkdir()
        (reg.root / "evil").symlink_to(tmp_path / "other", target_is_directory=True)
        with pytest.raises(InvalidNameError, match="stay inside"):
            reg.versions("evil")

    def test_version_paths_are_children_of_the_root(self, two):
        for v in two.versions("fraud"):
            assert two.path("fraud", v).resolve().parent.parent == two.root.resolve()


# -- evaluation sets ------------------------------------------------------------------------------


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


# -- publishing -----------------------------------------------------------------------------------


class TestPublish:
    def test_versions_are_numbered_from_1(self, real_registry):
        assert real_registry.versions("fraud") == [1, 2]

    def test_savedmodel_sits_directly_in_the_version_folder(self, real_registry):
        d = real_registry.path("fraud", 1)
        assert (d / "saved_model.pb").is_file() and (d / "variables").is_dir()
        assert (d / MANIFEST_NAME).is_file()

    def test_keras_file_only_when_asked(self, real_registry):
        assert not (real_registry.path("fraud", 1) / "model.keras").exists()
        assert (real_registry.path("fraud", 2) / "model.keras").is_file()

    def test_manifest_holds_what_the_issue_lists(self, real_registry, keras_models):
        fraud = keras_models[0]
        data = json.loads((real_registry.path("fraud", 2) / MANIFEST_NAME).read_text())
        assert (data["name"], data["version"]) == ("fraud", 2)
        assert data["created"].endswith("+00:00")
        assert data["evaluation"]["name"] == "fraud test"
        assert data["evaluation"]["fingerprint"] == fingerprint(fraud.test.x, fraud.test.y)
        assert set(data["evaluation"]["metrics"]) >= {"accuracy", "precision", "recall", "f1", "tp"}
        assert data["latency"]["median_ms"] > 0 and data["latency"]["batch_rows"] == 1
        assert data["libraries"]["tensorflow"] == "2.19.0" and data["libraries"][
            "keras"
        ].startswith("3.")
        assert data["tags"] == {"owner": "course"}

    def test_every_file_has_its_sha256_and_size(self, real_registry):
        import hashlib

        d = real_registry.path("fraud", 2)
        files = json.loads((d / MANIFEST_NAME).read_text())["files"]
        on_disk = {p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()} - {
            MANIFEST_NAME
        }
        assert set(files) == on_disk
        for rel, rec in files.items():
            assert rec == {
                "sha256": hashlib.sha256((d / rel).read_bytes()).hexdigest(),
                "size": (d / rel).stat().st_size,
            }

    def test_size_is_the_savedmodel_without_keras_file_and_manifest(self, real_registry):
        info = real_registry.get("fraud", 2)
        assert info.size_bytes == sum(
            r["size"] for k, r in info.files.items() if k != "model.keras"
        )

    def test_metrics_are_those_of_the_model_on_the_set(self, real_registry, keras_models):
        from course_lib import models

        fraud, small, _ = keras_models
        expected = Metrics.from_predictions(
            fraud.test.y, models.predict_scores(small, fraud.test.x)
        )
        assert real_registry.get("fraud", 1).metrics == expected

    def test_no_staging_folder_is_left(self, real_registry):
        assert [
            p.name
            for p in (real_registry.root / "fraud").iterdir()
            if p.name.startswith(".") and "staging" in p.name
        ] == []

    def test_refuses_something_that_is_not_a_model(self, reg):
        with pytest.raises(InvalidInputError, match="expected a Keras model"):
            reg.publish("model.keras", "fraud", toy_set())

    def test_refuses_a_missing_eval_set(self, reg, keras_models):
        with pytest.raises(InvalidInputError, match="expected an EvalSet"):
            reg.publish(keras_models[1], "fraud", (1, 2))


class TestPublishSavedModel:
    def test_copies_the_folder_and_records_given_metrics(self, reg, src):
        v = reg.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=2.5)
        assert (v.version, v.metrics, v.latency_ms) == (1, SEED_V2, 2.5)
        assert (reg.path("fraud", 1) / "variables" / "variables.index").read_bytes() == (
            src / "variables" / "variables.index"
        ).read_bytes()

    def test_refuses_a_folder_without_saved_model_pb(self, reg, tmp_path):
        (tmp_path / "empty").mkdir()
        with pytest.raises(InvalidInputError, match="expected a SavedModel folder"):
            reg.publish_saved_model(
                tmp_path / "empty", "fraud", toy_set(), metrics=SEED_V1, latency_ms=1
            )

    def test_refuses_metrics_counted_on_other_rows(self, reg, src):
        with pytest.raises(InvalidInputError, match="computed on the 200 rows"):
            reg.publish_saved_model(
                src,
                "fraud",
                toy_set(),
                metrics=Metrics.from_counts(tp=1, fp=0, fn=0, tn=1),
                latency_ms=1,
            )
        assert reg.versions("fraud") == []

    def test_deleted_numbers_are_not_given_out_again(self, two, src):
        two.delete("fraud", 2)
        v = two.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)
        assert v.version == 3 and two.versions("fraud") == [1, 3]


# -- listing --------------------------------------------------------------------------------------


class TestVersions:
    def test_lists_complete_versions_in_order(self, two):
        assert two.versions("fraud") == [1, 2]

    def test_unknown_model_has_no_versions(self, reg):
        assert reg.versions("nothing") == []

    def test_folder_without_saved_model_pb_is_reported_invalid(self, two):
        shutil.copytree(two.path("fraud", 2), two.root / "fraud" / "3")
        (two.root / "fraud" / "3" / "saved_model.pb").unlink()
        assert two.versions("fraud") == [1, 2]
        status = two.scan("fraud")[-1]
        assert (status.version, status.valid) == (3, False) and "saved_model.pb" in status.reason
        report = two.verify("fraud", 3)
        assert not report.ok and report.problems[0].path == "saved_model.pb"

    def test_folder_without_manifest_is_not_listed(self, two, src):
        shutil.copytree(src, two.root / "fraud" / "3")
        assert two.versions("fraud") == [1, 2]
        assert "course_manifest.json" in two.scan("fraud")[-1].reason

    def test_listing_reads_no_file(self, two):
        (two.path("fraud", 2) / MANIFEST_NAME).write_text("not json")
        assert two.versions("fraud") == [1, 2]  # only names and two stat calls
        assert [s.version for s in two.table("fraud").invalid] == [2]

    def test_hidden_and_non_numeric_entries_are_ignored(self, two):
        (two.root / "fraud" / ".staging-1-abc").mkdir()
        (two.root / "fraud" / "notes").mkdir()
        assert two.versions("fraud") == [1, 2]


class TestTable:
    def test_shows_versions_aliases_and_metrics(self, two):
        two.promote("fraud", 1)
        text = str(two.table("fraud"))
        assert "production" in text and "0.842" in text and "0.895" in text  # recall v1, v2

    def test_html_has_one_row_per_version(self, two):
        assert two.table("fraud")._repr_html_().count("<tr>") == 3


class TestGet:
    def test_by_number_alias_and_latest(self, two):
        two.promote("fraud", 1)
        assert two.get("fraud", "production").version == 1
        assert two.get("fraud", "latest").version == 2
        assert two.get("fraud", "2").notes == "v2"

    def test_unknown_version_lists_the_known_ones(self, two):
        with pytest.raises(VersionNotFoundError, match=r"versions: 1, 2"):
            two.get("fraud", 7)

    def test_unknown_alias_is_named(self, two):
        with pytest.raises(VersionNotFoundError, match="'candidate' to be an alias"):
            two.get("fraud", "candidate")

    def test_invalid_folder_is_refused(self, two, src):
        shutil.copytree(src, two.root / "fraud" / "3")
        with pytest.raises(InvalidVersionError, match="no course_manifest.json"):
            two.get("fraud", 3)

    def test_edited_manifest_is_not_trusted(self, two):
        p = two.path("fraud", 1) / MANIFEST_NAME
        p.write_text(p.read_text().replace('"fn": 15', '"fn": 5'))  # a better-looking recall
        with pytest.raises(InvalidVersionError, match="edited after publishing"):
            two.get("fraud", 1)
        with pytest.raises(InvalidVersionError, match="edited after publishing"):
            two.compare("fraud", 1, 2)
        assert "unreadable or changed" in two.table("fraud").invalid[0].reason

    def test_str_has_metrics_size_and_latency_but_no_time(self, two):
        text = str(two.get("fraud", 1))
        assert "recall 0.842" in text and "KB" in text and "1.00 ms" in text
        assert "created" not in text and "created" in two.get("fraud", 1).details()


# -- verification ---------------------------------------------------------------------------------


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


# -- loading --------------------------------------------------------------------------------------


class TestLoad:
    def test_savedmodel_predicts_like_the_model(self, real_registry, keras_models):
        from course_lib import models

        fraud, small, _ = keras_models
        loaded = real_registry.load("fraud", 1)
        np.testing.assert_allclose(
            loaded.predict(fraud.test.x[:50]).ravel(),
            models.predict_scores(small, fraud.test.x[:50]),
            atol=1e-6,
        )

    def test_keras_file_loads_when_asked(self, real_registry):
        assert real_registry.load("fraud", 2, format="keras").format == "keras"

    def test_keras_format_without_file_is_refused(self, real_registry):
        with pytest.raises(VersionNotFoundError, match="publish with keras_file=True"):
            real_registry.load("fraud", 1, format="keras")

    def test_tampered_version_is_refused_naming_the_file(self, real):
        flip_byte(real.path("fraud", 1) / "variables" / "variables.data-00000-of-00001")
        with pytest.raises(
            IntegrityError, match="variables/variables.data-00000-of-00001: content changed"
        ):
            real.load("fraud", 1)

    def test_safe_mode_stays_on(self, tmp_path, keras_models):
        from course_lib import _tf
        from course_lib.persistence import UnsafeModelError

        keras = _tf.keras()
        inputs = keras.Input((8,), name="features")
        outputs = keras.layers.Dense(1, activation="sigmoid")(
            keras.layers.Lambda(lambda t: t * 2.0)(inputs)
        )
        reg = ModelRegistry(tmp_path / "registry")
        fraud = keras_models[0]
        reg.publish(
            keras.Model(inputs, outputs),
            "lam",
            EvalSet("t", fraud.test.x[:100], fraud.test.y[:100]),
            keras_file=True,
            latency_ms=1.0,
        )
        with pytest.raises(UnsafeModelError, match="Lambda"):
            reg.load("lam", 1, format="keras")

    def test_evaluate_matches_the_published_metrics(self, real_registry, keras_models):
        fraud = keras_models[0]
        again = real_registry.evaluate(
            "fraud", 2, EvalSet("fraud test", fraud.test.x, fraud.test.y)
        )
        assert again == real_registry.get("fraud", 2).metrics


# -- comparing ------------------------------------------------------------------------------------


class TestCompare:
    def test_deltas_size_and_latency(self, two):
        c = two.compare("fraud", 1, 2)
        assert c.same_data and round(c.rows[1].delta, 3) == 0.05  # precision 0.80 -> 0.85
        text = str(c)
        assert "1.00 ms" in text and "1.20 ms" in text and "1.00x" in text and "FN" in text

    def test_improved_version_is_good_per_the_seed(self, two):
        assert two.compare("fraud", 1, 2).verdict.startswith("GOOD")

    def test_a_recall_drop_is_bad_and_named(self, two, src):
        two.publish_saved_model(src, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=1)
        c = two.compare("fraud", 2, 3)
        assert c.verdict.startswith("BAD") and [r.name for r in c.regressions] == [
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
        fig = two.compare("fraud", 1, 2).plot()
        assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["version 1", "version 2"]


# -- the gate and promotion -----------------------------------------------------------------------

GATE = Gate(min_recall=0.80, max_drop=0.01, max_size_bytes=100_000, max_latency_ms=50)


class TestGate:
    def test_str_lists_the_rules(self):
        assert str(GATE) == (
            "recall >= 0.80; no metric more than 0.01 below production; "
            "size <= 97.7 KB; latency <= 50 ms"
        )

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"min_recall": 1.5}, "min_recall to be a number from 0 to 1"),
            ({"max_drop": {"auc": 0.1}}, "max_drop keys"),
            ({"max_size_bytes": 0}, "max_size_bytes to be a positive number"),
            ({"max_latency_ms": float("nan")}, "max_latency_ms"),
        ],
    )
    def test_bad_rules_are_refused(self, kwargs, match):
        with pytest.raises(InvalidInputError, match=match):
            Gate(**kwargs)

    def test_every_failing_rule_is_reported(self, two, src):
        two.promote("fraud", 2)
        big = fake_saved_model(src.parent / "big", size=60_000)
        two.publish_saved_model(big, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=80)
        decision = two.check_gate("fraud", 3, GATE)
        assert [r.rule.split(" ")[0] for r in decision.failures] == [
            "recall",
            "no",
            "size",
            "latency",
        ]
        assert "recall -0.368" in decision.failures[1].detail

    def test_per_metric_drop_allowance(self, two, src):
        two.promote("fraud", 2)
        two.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V1, latency_ms=1)
        assert two.check_gate("fraud", 3, Gate(max_drop={"recall": 0.1, "precision": 0.1})).ok
        assert not two.check_gate("fraud", 3, Gate(max_drop={"recall": 0.01})).ok

    def test_drop_rule_refuses_versions_evaluated_on_other_data(self, two, src):
        two.promote("fraud", 2)
        two.publish_saved_model(
            src, "fraud", toy_set("other", seed=3), metrics=SEED_V2, latency_ms=1
        )
        (failure,) = two.check_gate("fraud", 3, Gate(max_drop=0.01)).failures
        assert "cannot compare" in failure.detail and "'other'" in failure.detail


class TestPromote:
    def test_first_promotion_sets_production(self, two):
        decision = two.promote("fraud", 1, gate=GATE)
        assert decision.applied and two.aliases("fraud") == {"production": 1}
        assert "first promotion" in str(decision)

    def test_passing_version_moves_production(self, two):
        two.promote("fraud", 1)
        assert "PROMOTED" in two.promote("fraud", 2, gate=GATE).verdict
        assert two.aliases("fraud")["production"] == 2

    def test_refusal_lists_every_failed_rule_and_moves_nothing(self, two, src):
        two.promote("fraud", 2)
        big = fake_saved_model(src.parent / "big", size=60_000)
        two.publish_saved_model(big, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=1)
        with pytest.raises(
            PromotionRefusedError, match=r"3 failed: recall >= 0\.80.*size"
        ) as refused:
            two.promote("fraud", 3, gate=GATE)
        assert len(refused.value.decision.failures) == 3
        assert two.aliases("fraud") == {"production": 2}

    def test_tampered_version_is_refused(self, two):
        flip_byte(two.path("fraud", 2) / "saved_model.pb")
        with pytest.raises(
            PromotionRefusedError, match="files verify .*saved_model.pb: content changed"
        ):
            two.promote("fraud", 2)
        assert two.aliases("fraud") == {}

    def test_check_gate_moves_nothing(self, two):
        assert two.check_gate("fraud", 1, GATE).ok and two.aliases("fraud") == {}

    def test_other_alias(self, two):
        two.promote("fraud", 2, alias="candidate")
        assert two.aliases("fraud") == {"candidate": 2}


class TestAliases:
    def test_set_and_remove(self, two):
        assert (
            str(two.set_alias("fraud", "candidate", 2))
            == "fraud: candidate moved from nothing to version 2"
        )
        two.remove_alias("fraud", "candidate")
        assert two.aliases("fraud") == {}

    def test_alias_file_is_replaced_whole(self, two):
        two.set_alias("fraud", "candidate", 2)
        names = {p.name for p in (two.root / "fraud").iterdir()}
        assert "aliases.json" in names and not [n for n in names if n.endswith(".tmp")]
        assert json.loads((two.root / "fraud" / "aliases.json").read_text())["aliases"] == {
            "candidate": 2
        }

    def test_set_alias_refuses_a_tampered_version(self, two):
        flip_byte(two.path("fraud", 1) / "fingerprint.pb")
        with pytest.raises(IntegrityError, match="fingerprint.pb"):
            two.set_alias("fraud", "candidate", 1)

    def test_corrupted_alias_file_gives_a_clear_error(self, two):
        (two.root / "fraud" / "aliases.json").write_text("{")
        with pytest.raises(RegistryError, match="aliases.json.*cannot be read"):
            two.aliases("fraud")


class TestRollback:
    def test_goes_back_to_the_previous_production(self, two):
        two.promote("fraud", 1)
        two.promote("fraud", 2)
        change = two.rollback("fraud")
        assert (change.old, change.new) == (2, 1) and two.aliases("fraud") == {"production": 1}

    def test_nothing_to_roll_back_to(self, two):
        two.promote("fraud", 1)
        with pytest.raises(RollbackRefusedError, match="no.* earlier production|there is none"):
            two.rollback("fraud")

    def test_refuses_a_tampered_target(self, two):
        two.promote("fraud", 1)
        two.promote("fraud", 2)
        flip_byte(two.path("fraud", 1) / "saved_model.pb")
        with pytest.raises(RollbackRefusedError, match="saved_model.pb: content changed"):
            two.rollback("fraud")
        assert two.aliases("fraud") == {"production": 2}


class TestDelete:
    def test_refused_while_an_alias_points_to_it(self, two):
        two.promote("fraud", 2)
        with pytest.raises(AliasInUseError, match="production does"):
            two.delete("fraud", 2)
        assert two.versions("fraud") == [1, 2]

    def test_removes_the_folder(self, two):
        two.delete("fraud", 1)
        assert two.versions("fraud") == [2] and not (two.root / "fraud" / "1").exists()


class TestFresh:
    def test_empties_a_registry(self, two):
        assert ModelRegistry.fresh(two.root).names() == []

    def test_refuses_a_folder_that_is_not_a_registry(self, tmp_path):
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "thesis.tex").write_text("precious")
        with pytest.raises(RegistryError, match="not deleted"):
            ModelRegistry.fresh(tmp_path / "mine")
        assert (tmp_path / "mine" / "thesis.tex").exists()

    def test_opening_a_missing_registry_without_create(self, tmp_path):
        with pytest.raises(VersionNotFoundError, match="expected a registry folder"):
            ModelRegistry(tmp_path / "nope", create=False)


# -- serving --------------------------------------------------------------------------------------


class TestServing:
    def test_tf_serving_serves_the_highest_number(self, two, src):
        two.promote("fraud", 1)
        two.publish_saved_model(src, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=1)
        plan = two.serving("fraud")
        assert (plan.on_disk, plan.default_version, plan.pinned) == ((1, 2, 3), 3, 1)
        assert "NOT the same version" in str(plan)

    def test_commands_use_the_folder(self, reg, src):
        rel = ModelRegistry(Path(os.path.relpath(reg.root)))
        plan = rel.serving("fraud")
        assert plan.docker_command == (
            f'docker run -p 8501:8501 -v "$PWD/{rel.root.as_posix()}/fraud:'
            '/models/fraud" -e MODEL_NAME=fraud tensorflow/serving'
        )
        assert "--model_base_path=" in plan.model_server_command

    def test_config_pins_the_production_version_with_a_label(self, two):
        two.promote("fraud", 1)
        text = two.serving_config("fraud")
        assert "specific {\n        versions: 1\n" in text
        assert 'key: "production"\n      value: 1' in text and 'base_path: "/models/fraud"' in text

    def test_config_needs_the_alias(self, two):
        with pytest.raises(VersionNotFoundError, match="promote a version first"):
            two.serving_config("fraud")

    def test_written_config_is_not_taken_for_a_model(self, two):
        two.promote("fraud", 2)
        path = two.write_serving_config("fraud")
        assert path.read_text() == two.serving_config("fraud") and two.names() == ["fraud"]


# -- costs ----------------------------------------------------------------------------------------


class TestDeploymentCosts:
    def test_cheapest_version_at_given_costs(self):
        t = deployment_costs({"v1": SEED_V1, "v2": SEED_V2, "v3": MORE_ACCURATE}, 1, 1)
        assert t.best == ("v3",)  # equal costs: fewest mistakes = highest accuracy
        assert deployment_costs({"v2": SEED_V2, "v3": MORE_ACCURATE}, 100, 1).best == ("v2",)

    def test_tie_is_reported(self):
        t = deployment_costs({"a": SEED_V1, "b": SEED_V1}, 3, 1)
        assert t.best == ("a", "b") and "tie" in t.verdict

    def test_metrics_on_different_rows_refused(self):
        with pytest.raises(InvalidInputError, match="same rows"):
            deployment_costs({"a": SEED_V1, "b": Metrics.from_counts(tp=1, fp=1, fn=1, tn=1)}, 1, 1)

    def test_negative_cost_refused(self):
        with pytest.raises(InvalidInputError, match="miss_cost to be a cost of 0 or more"):
            deployment_costs({"a": SEED_V1}, -1, 1)


class TestBreakEvenMissCost:
    def test_costs_are_equal_there(self):
        cost = break_even_miss_cost(SEED_V2, WORSE_RECALL)
        at = deployment_costs({"v2": SEED_V2, "v3": WORSE_RECALL}, cost, 1)
        assert at.rows[0].total == pytest.approx(at.rows[1].total)

    def test_none_when_both_miss_as_many(self):
        assert break_even_miss_cost(SEED_V1, SEED_V1) is None


# -- teaching helpers -----------------------------------------------------------------------------


class TestFlipByte:
    def test_changes_exactly_one_byte(self, tmp_path):
        p = tmp_path / "f"
        p.write_bytes(bytes(10))
        assert flip_byte(p, 3) == 3 and p.read_bytes() == bytes(3) + b"\xff" + bytes(6)

    def test_offset_out_of_range(self, tmp_path):
        (tmp_path / "f").write_bytes(b"ab")
        with pytest.raises(InvalidInputError, match="offset from 0 to 1"):
            flip_byte(tmp_path / "f", 5)


class TestTree:
    def test_hides_staging_and_lock_files(self, two):
        (two.root / "fraud" / ".staging-1-abc").mkdir()
        text = tree(two.root)
        assert "├── 1/" in text and ".staging" not in text and ".lock" not in text


class TestCleanStaging:
    def test_removes_left_over_folders(self, two):
        (two.root / "fraud" / ".staging-1-abc").mkdir()
        assert two.clean_staging("fraud", older_than=0) == 1
        assert two.versions("fraud") == [1, 2]


# -- reliability: crashes and concurrent writers --------------------------------------------------

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from course_lib.metrics import Metrics
    from course_lib.registry import EvalSet, ModelRegistry
    root, src, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    go = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    rng = np.random.default_rng(0)
    es = EvalSet("toy test", rng.normal(size=(200, 8)), np.array([0, 1] * 100))
    m = Metrics.from_counts(tp=85, fp=15, fn=10, tn=90)
    reg = ModelRegistry(root)
    print("ready", flush=True)
    while go is not None and not go.exists():
        time.sleep(0.005)
    for _ in range(count):
        v = reg.publish_saved_model(src, "fraud", es, metrics=m, latency_ms=1.0)
        print(v.version, flush=True)
""")

PUBLISH_POINTS = ["staging-created", "copying", "saved", "hashed", "manifest", "renamed"]


def run_child(
    root: Path, src: Path, count: int = 1, crash_at: str | None = None
) -> subprocess.CompletedProcess:
    env = {**ENV, **({"COURSE_LIB_REGISTRY_CRASH_AT": crash_at} if crash_at else {})}
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(src), str(count)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def assert_consistent(reg: ModelRegistry) -> list[int]:
    """Everything versions() lists verifies, nothing numbered is half-made, numbers have no gaps."""
    versions = reg.versions("fraud")
    assert all(s.valid for s in reg.scan("fraud")), reg.scan("fraud")
    assert versions == list(range(1, len(versions) + 1))
    for v in versions:
        assert reg.verify("fraud", v).ok
        assert reg.get("fraud", v).version == v
    return versions


class TestCrashDuringPublish:
    @pytest.mark.parametrize("point", PUBLISH_POINTS)
    def test_sigkill_leaves_nothing_half_made_and_the_next_publish_works(self, two, src, point):
        two.promote("fraud", 2)
        done = run_child(two.root, src, crash_at=point)
        assert done.returncode == -signal.SIGKILL, done.stderr
        versions = assert_consistent(two)
        assert versions == ([1, 2, 3] if point == "renamed" else [1, 2])  # only after the rename
        assert two.get("fraud", "production").version == 2  # promote still takes what it took
        nxt = two.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)
        assert nxt.version == versions[-1] + 1 and two.verify("fraud", nxt.version).ok
        two.clean_staging("fraud", older_than=0)
        assert not [p for p in (two.root / "fraud").iterdir() if "staging" in p.name]

    def test_sigkill_after_random_delays(self, reg, tmp_path):
        src = fake_saved_model(tmp_path / "bigger", size=400_000)
        delays = random.Random(4).sample([i / 100 for i in range(3, 40)], 4)
        for delay in delays:
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(reg.root), str(src), "1000"],
                stdout=subprocess.PIPE,
                text=True,
                env=ENV,
            )
            assert child.stdout.readline().strip() == "ready"
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
            child.stdout.close()
            assert_consistent(reg)
        before = reg.versions("fraud")
        nxt = reg.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)
        assert nxt.version == len(before) + 1 and assert_consistent(reg)[-1] == nxt.version

    def test_sigkill_during_a_real_keras_publish(self, reg, keras_models):
        code = textwrap.dedent("""
            import sys
            from course_lib import data, models
            from course_lib.registry import EvalSet, ModelRegistry
            fraud = data.load_fraud()
            m = models.build_fraud_model(fraud.train.x, hidden=(2,))
            test = EvalSet("fraud test", fraud.test.x, fraud.test.y)
            ModelRegistry(sys.argv[1]).publish(m, "fraud", test)
        """)
        env = {**ENV, "COURSE_LIB_REGISTRY_CRASH_AT": "saved"}
        done = subprocess.run(
            [sys.executable, "-c", code, str(reg.root)],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert reg.versions("fraud") == [] and reg.scan("fraud") == ()
        fraud, small, _ = keras_models
        v = reg.publish(
            small, "fraud", EvalSet("fraud test", fraud.test.x, fraud.test.y), latency_ms=1.0
        )
        assert v.version == 1 and reg.load("fraud", 1).format == "savedmodel"


class TestCrashDuringAliasChange:
    @pytest.mark.parametrize(
        ("point", "expected"), [("aliases-temp-written", 1), ("aliases-replaced", 2)]
    )
    def test_alias_file_is_old_or_new_never_broken(self, two, point, expected):
        two.promote("fraud", 1)
        code = (
            "import sys; from course_lib.registry import ModelRegistry; "
            "ModelRegistry(sys.argv[1]).promote('fraud', 2)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(two.root)],
            check=False,
            capture_output=True,
            text=True,
            env={**ENV, "COURSE_LIB_REGISTRY_CRASH_AT": point},
            timeout=60,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert two.aliases("fraud") == {"production": expected}
        two.promote("fraud", 2)  # the lock died with the process
        assert two.aliases("fraud") == {"production": 2}


class TestConcurrentPublish:
    def test_writers_get_distinct_numbers_and_every_version_verifies(self, reg, src, tmp_path):
        go = tmp_path / "go"
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(reg.root), str(src), "4", str(go)],
                stdout=subprocess.PIPE,
                text=True,
                env=ENV,
            )
            for _ in range(4)
        ]
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        go.touch()
        got = []
        for child in children:
            out, _ = child.communicate(timeout=120)
            assert child.returncode == 0
            got += [int(x) for x in out.split()]
        assert sorted(got) == list(range(1, 17))
        assert assert_consistent(reg) == list(range(1, 17))
