"""Tests of course_lib.registry.core: ModelRegistry's paths, listing, reading, loading, deleting.

Also the teaching helpers the registry re-exports (``flip_byte``, ``tree``).
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from registry_helpers import SEED_V2, fake_saved_model, manifest_of, rewrite_manifest, toy_set

from course_lib.errors import InvalidInputError
from course_lib.registry import (
    MANIFEST_NAME,
    AliasInUseError,
    EvalSet,
    IntegrityError,
    InvalidNameError,
    InvalidVersionError,
    ModelRegistry,
    PromotionRefusedError,
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
        with pytest.raises(IntegrityError, match="edited after publishing"):
            two.get("fraud", 1)
        with pytest.raises(IntegrityError, match="edited after publishing"):
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


class TestSwappedOrCopiedFolders:
    def test_swapped_folders_are_listed_once_each_and_flagged(self, two, src):
        two.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)
        fraud = two.root / "fraud"
        os.rename(fraud / "2", fraud / "tmp")
        os.rename(fraud / "3", fraud / "2")
        os.rename(fraud / "tmp", fraud / "3")
        table = two.table("fraud")
        assert [v.version for v in table.rows] == [1]
        assert [s.version for s in table.invalid] == [2, 3]
        assert "describes 'fraud' version 3, but sits in fraud/2" in table.invalid[0].reason

    def test_get_refuses_a_manifest_copied_from_another_version(self, two):
        shutil.copy(two.path("fraud", 2) / MANIFEST_NAME, two.path("fraud", 1) / MANIFEST_NAME)
        with pytest.raises(InvalidVersionError, match="describes 'fraud' version 2, but sits in "
                                                      "fraud/1"):
            two.get("fraud", 1)
        with pytest.raises(IntegrityError, match="describes 'fraud' version 2"):
            two.load("fraud", 1)
        with pytest.raises(IntegrityError, match="sits in fraud/1"):
            two.set_alias("fraud", "candidate", 1)


class TestCraftedManifests:
    def test_a_deeply_nested_manifest_is_a_clear_error(self, two):
        (two.path("fraud", 1) / MANIFEST_NAME).write_text("[" * 200_000 + "]" * 200_000)
        with pytest.raises(InvalidVersionError, match="nested deeper than 32 levels"):
            two.get("fraud", 1)
        assert "nested deeper" in two.table("fraud").invalid[0].reason
        assert "nested deeper" in two.verify("fraud", 1).problems[0].problem

    def test_a_deep_value_with_a_valid_checksum_is_refused(self, two):
        data = manifest_of(two, 1)
        data["notes"] = json.loads("[" * 40 + "]" * 40)
        rewrite_manifest(two, 1, data)
        with pytest.raises(InvalidVersionError, match="nested deeper than 32 levels"):
            two.get("fraud", 1)

    @pytest.mark.parametrize(("field", "value", "why"), [
        ("files", [], "files: expected an object of files"),
        ("files", {"../../etc/passwd": {"sha256": "0" * 64, "size": 1}},
         "expected paths inside the version folder"),
        ("size_bytes", "big", "size_bytes: expected a number of bytes"),
        ("evaluation", {"name": "t", "fingerprint": "x", "rows": "200"}, "evaluation.rows"),
        ("tags", {"a": 1}, "tags: expected an object of text"),
        ("version", True, "version: expected a whole number"),
        ("latency", {"median_ms": "fast"}, "latency: expected an object with median_ms"),
    ])
    def test_wrong_field_types_with_a_valid_checksum_are_named(self, two, field, value, why):
        data = manifest_of(two, 1)
        data[field] = value
        rewrite_manifest(two, 1, data)
        with pytest.raises(InvalidVersionError, match=why):
            two.get("fraud", 1)
        assert why.split(":")[0] in two.table("fraud").invalid[0].reason
        assert not two.verify("fraud", 1).ok

    def test_metrics_of_the_wrong_shape_are_named(self, two):
        data = manifest_of(two, 1)
        del data["evaluation"]["metrics"]["tp"]
        rewrite_manifest(two, 1, data)
        with pytest.raises(PromotionRefusedError, match="evaluation.metrics: .*cannot be read"):
            two.promote("fraud", 1)

    def test_an_empty_folder_added_to_a_version_is_named(self, two):
        (two.path("fraud", 1) / "extra").mkdir()
        assert [str(p) for p in two.verify("fraud", 1).problems] == [
            "extra: unexpected folder: not in the manifest (added after publishing)"]

    def test_a_huge_manifest_is_not_read(self, two, monkeypatch):
        from course_lib.registry import core

        monkeypatch.setattr(core, "MANIFEST_LIMIT", 100)
        with pytest.raises(InvalidVersionError, match="at most 100 bytes"):
            two.get("fraud", 1)


class TestNoLinkFollowedInsideTheRoot:
    def test_a_symlinked_manifest_is_refused(self, two, tmp_path):
        m = two.path("fraud", 1) / MANIFEST_NAME
        shutil.move(m, tmp_path / "elsewhere.json")
        m.symlink_to(tmp_path / "elsewhere.json")
        with pytest.raises(InvalidVersionError, match="it is a symbolic link"):
            two.get("fraud", 1)
        assert "symbolic link" in two.verify("fraud", 1).problems[0].problem

    def test_a_version_folder_linked_to_another_inside_the_root_is_refused(self, two):
        (two.root / "fraud" / "3").symlink_to(two.path("fraud", 2), target_is_directory=True)
        with pytest.raises(InvalidNameError, match="is a symbolic link"):
            two.get("fraud", 3)
        with pytest.raises(InvalidNameError, match="is a symbolic link"):
            two.set_alias("fraud", "candidate", 3)

    def test_a_planted_tombstone_link_writes_nothing_outside(self, two, tmp_path):
        (two.root / "fraud" / ".deleted-1").symlink_to(tmp_path / "created-outside")
        with pytest.raises(RegistryError, match="mark of a deleted version; it is a symbolic"):
            two.delete("fraud", 1)
        assert not (tmp_path / "created-outside").exists() and two.versions("fraud") == [1, 2]


class TestCommandLineCodes:
    def test_verifying_a_model_that_does_not_exist_is_an_error(self, two):
        from course_lib import cli

        with pytest.raises(VersionNotFoundError, match="model named 'nosuch'"):
            two.verify_all("nosuch")
        assert cli.main(["registry", "verify", str(two.root), "nosuch"]) == 2

    def test_showing_an_edited_manifest_is_a_refusal(self, two):
        from course_lib import cli

        p = two.path("fraud", 1) / MANIFEST_NAME
        p.write_text(p.read_text().replace('"fn": 15', '"fn": 5'))
        assert cli.main(["registry", "show", str(two.root), "fraud", "1"]) == 1

    def test_listing_a_deep_manifest_exits_cleanly(self, two, capsys):
        from course_lib import cli

        (two.path("fraud", 1) / MANIFEST_NAME).write_text("[" * 200_000 + "]" * 200_000)
        assert cli.main(["registry", "list", str(two.root), "fraud"]) == 0
        assert "INVALID: 1" in capsys.readouterr().out


class TestDiskRefusing:
    def test_a_read_only_place_for_a_new_registry(self, tmp_path, monkeypatch):
        import errno
        from pathlib import Path

        from course_lib.errors import StorageError

        def read_only(self, *a, **k):
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(Path, "mkdir", read_only)
        with pytest.raises(StorageError, match="create the registry folder .*read-only"):
            ModelRegistry(tmp_path / "registry")

    def test_an_unreadable_registry_is_a_storage_error_and_exits_3(self, two, monkeypatch):
        import errno

        from course_lib import cli
        from course_lib.errors import StorageError

        def denied(path):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(os, "scandir", denied)
        with pytest.raises(StorageError, match="list the folder .*permission denied"):
            two.names()
        assert cli.main(["registry", "list", str(two.root)]) == 3


class TestModelsTable:
    def test_a_manifest_copied_from_another_version_counts_invalid(self, two):
        from course_lib.registry.commands import models_table

        shutil.copy(two.path("fraud", 2) / MANIFEST_NAME, two.path("fraud", 1) / MANIFEST_NAME)
        assert models_table(two).splitlines()[-1].split()[:3] == ["fraud", "1", "1"]
