"""Tests of course_lib.registry.core: ModelRegistry's paths, listing, reading, loading, deleting.

Also the teaching helpers the registry re-exports (``flip_byte``, ``tree``).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from registry_helpers import fake_saved_model

from course_lib.errors import InvalidInputError
from course_lib.registry import (
    MANIFEST_NAME,
    AliasInUseError,
    EvalSet,
    IntegrityError,
    InvalidNameError,
    InvalidVersionError,
    ModelRegistry,
    RegistryError,
    VersionNotFoundError,
    flip_byte,
    tree,
)


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

    def test_edited_manifest_is_not_trusted(self, two):  # checked on every read, cheaply
        p = two.path("fraud", 1) / MANIFEST_NAME
        p.write_text(p.read_text().replace('"fn": 15', '"fn": 5'))  # a better-looking recall
        with pytest.raises(InvalidVersionError, match="edited after publishing"):
            two.get("fraud", 1)
        with pytest.raises(InvalidVersionError, match="edited after publishing"):
            two.compare("fraud", 1, 2)
        assert "unreadable or changed" in two.table("fraud").invalid[0].reason


class TestLoad:
    def test_savedmodel_predicts_like_the_model(self, real_registry, registry_models):
        from course_lib import models

        fraud, small, _ = registry_models
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

    def test_safe_mode_stays_on(self, tmp_path, registry_models):
        from course_lib import _tf
        from course_lib.persistence import UnsafeModelError  # re-exported from course_lib.errors

        keras = _tf.keras()
        inputs = keras.Input((8,), name="features")
        outputs = keras.layers.Dense(1, activation="sigmoid")(
            keras.layers.Lambda(lambda t: t * 2.0)(inputs)
        )
        reg = ModelRegistry(tmp_path / "registry")
        fraud = registry_models[0]
        reg.publish(
            keras.Model(inputs, outputs),
            "lam",
            EvalSet("t", fraud.test.x[:100], fraud.test.y[:100]),
            keras_file=True,
            latency_ms=1.0,
        )
        with pytest.raises(UnsafeModelError, match="Lambda"):
            reg.load("lam", 1, format="keras")

    def test_evaluate_matches_the_published_metrics(self, real_registry, registry_models):
        fraud = registry_models[0]
        again = real_registry.evaluate(
            "fraud", 2, EvalSet("fraud test", fraud.test.x, fraud.test.y)
        )
        assert again == real_registry.get("fraud", 2).metrics


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


class TestCleanStaging:
    def test_removes_left_over_folders(self, two):
        (two.root / "fraud" / ".staging-1-abc").mkdir()
        assert two.clean_staging("fraud", older_than=0) == 1
        assert two.versions("fraud") == [1, 2]


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
