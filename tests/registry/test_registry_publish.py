"""Tests of course_lib.registry.publish: publishing, crash safety, concurrent writers."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from registry_helpers import (
    CHILD,
    ENV,
    SEED_V1,
    SEED_V2,
    assert_consistent,
    dead_pid,
    fake_saved_model,
    leftovers,
    run_child,
    run_code,
    start_deleter,
    toy_set,
)

from course_lib import _fs
from course_lib.errors import CourseLibError, InvalidInputError, StorageError
from course_lib.metrics import Metrics
from course_lib.registry import MANIFEST_NAME, EvalSet, fingerprint


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

    def test_manifest_holds_what_the_issue_lists(self, real_registry, registry_models):
        fraud = registry_models[0]
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

    def test_metrics_are_those_of_the_model_on_the_set(self, real_registry, registry_models):
        from course_lib import models

        fraud, small, _ = registry_models
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

    def test_refuses_a_missing_eval_set(self, reg, registry_models):
        with pytest.raises(InvalidInputError, match="expected an EvalSet"):
            reg.publish(registry_models[1], "fraud", (1, 2))


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


PUBLISH_POINTS = ["staging-created", "copying", "saved", "hashed", "manifest", "renamed"]


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

    def test_sigkill_during_a_real_keras_publish(self, reg, registry_models):
        code = textwrap.dedent("""
            import sys
            from course_lib import data, models
            from course_lib.registry import EvalSet, ModelRegistry
            fraud = data.load_fraud()
            m = models.build_fraud_model(fraud.train.x, hidden=(2,))
            test = EvalSet("fraud test", fraud.test.x, fraud.test.y)
            ModelRegistry(sys.argv[1]).publish(m, "fraud", test)
        """)
        done = run_code(code, str(reg.root), crash_at="saved", timeout=300)
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert reg.versions("fraud") == [] and reg.scan("fraud") == ()
        fraud, small, _ = registry_models
        v = reg.publish(
            small, "fraud", EvalSet("fraud test", fraud.test.x, fraud.test.y), latency_ms=1.0
        )
        assert v.version == 1 and reg.load("fraud", 1).format == "savedmodel"


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


class TestGivenLatency:
    @pytest.mark.parametrize("bad", [0, -1.0, float("nan"), True, "1"])
    def test_must_be_a_positive_number_of_milliseconds(self, reg, src, bad):
        with pytest.raises(InvalidInputError, match="latency_ms to be a number above 0"):
            reg.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V1, latency_ms=bad)
        assert reg.versions("fraud") == [] and not [
            p for p in (reg.root / "fraud").iterdir() if "staging" in p.name
        ]

    def test_is_recorded_as_given(self, two):
        assert two.get("fraud", 2).latency == {"median_ms": 1.2, "how": "given by the publisher"}


class TestPublishAnyModel:
    def test_a_version_folder_is_published_again_with_a_manifest_of_its_own(self, two):
        v = two.publish_saved_model(two.path("fraud", 1), "copy", toy_set(), metrics=SEED_V2,
                                    latency_ms=1)
        assert two.verify("copy", v.version).ok and MANIFEST_NAME not in v.files
        assert two.get("copy", 1).metrics == SEED_V2

    def test_metrics_of_another_task_than_the_sets_are_refused(self, reg, src):
        s = EvalSet("t", np.zeros((200, 2)), [0, 1] * 100, task="multiclass")
        with pytest.raises(InvalidInputError, match="metrics of a multi-class classifier .*"
                                                    "found the metrics of a binary classifier"):
            reg.publish_saved_model(src, "fraud", s, metrics=SEED_V1, latency_ms=1)

    def test_something_that_is_not_metrics_is_refused(self, reg, src):
        with pytest.raises(InvalidInputError, match="expected metrics as a metrics value"):
            reg.publish_saved_model(src, "fraud", toy_set(), metrics={"recall": 0.9},
                                    latency_ms=1)

    def test_rows_that_do_not_fit_the_models_input_are_refused(self, reg, registry_models):
        fraud, small, _ = registry_models
        s = EvalSet("seven columns", fraud.test.x[:, :7], fraud.test.y)
        with pytest.raises(InvalidInputError, match="shape .*8 values on axis 1.*found 7"):
            reg.publish(small, "fraud", s)
        assert reg.versions("fraud") == []

    def test_a_model_with_several_outputs_is_measured_only_with_its_metrics(
            self, reg, two_output_model):
        s = EvalSet("t", np.random.default_rng(0).normal(size=(20, 4)), [0, 1] * 10)
        with pytest.raises(InvalidInputError,
                           match=r"found 2 \('(score|kind)', '(score|kind)'\)"):
            reg.publish(two_output_model, "multi", s)
        assert reg.versions("multi") == []

    def test_a_model_with_several_outputs_publishes_the_metrics_given(
            self, reg, two_output_model):
        s = EvalSet("t", np.random.default_rng(0).normal(size=(20, 4)), [0, 1] * 10)
        score = np.asarray(two_output_model(s.x, training=False)["score"])
        v = reg.publish(two_output_model, "multi", s,
                        metrics=Metrics.from_predictions(s.y, score))
        assert v.task == "binary" and v.latency_ms > 0 and reg.verify("multi", 1).ok

    def test_a_savedmodel_with_several_outputs_is_measured_only_with_its_metrics(
            self, reg, two_output_model, tmp_path):
        from course_lib import persistence

        export = persistence.save(two_output_model, tmp_path / "export", "savedmodel").path
        s = EvalSet("t", np.random.default_rng(0).normal(size=(20, 4)), [0, 1] * 10)
        with pytest.raises(InvalidInputError, match="the SavedModel to have one output to measure"):
            reg.publish_saved_model(export, "multi", s)
        assert reg.versions("multi") == []


class TestSymlinksInTheSource:
    def test_a_link_to_an_outside_file_is_refused(self, reg, src, tmp_path):
        (tmp_path / "secret").write_text("not part of the model")
        (src / "assets" / "secret.txt").symlink_to(tmp_path / "secret")
        with pytest.raises(InvalidInputError, match=r"assets/secret.txt \(a symbolic link\).*"
                                                    r"Fix: replace each link"):
            reg.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V1, latency_ms=1)
        assert reg.versions("fraud") == [] and leftovers(reg) == []

    def test_a_link_loop_is_refused(self, reg, src):
        (src / "assets" / "loop").symlink_to(src / "assets" / "loop")
        with pytest.raises(InvalidInputError, match=r"assets/loop \(a symbolic link\)"):
            reg.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V1, latency_ms=1)
        assert reg.versions("fraud") == []


class TestDiskRefusing:
    def test_a_full_disk_mid_copy_is_a_storage_error_and_leaves_no_staging(
            self, two, src, fail_copy_at):
        fail_copy_at(3)
        with pytest.raises(StorageError, match="the disk refused: no space is left on the device"
                                               ".*Fix: free some space"):
            two.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)
        assert leftovers(two) == [] and assert_consistent(two) == [1, 2]

    def test_a_read_only_registry_refuses_the_rename_clearly(self, two, src, monkeypatch):
        real = os.rename

        def read_only(a, b):
            if ".staging-" in str(a):
                raise OSError(errno.EROFS, "Read-only file system")
            return real(a, b)

        monkeypatch.setattr(os, "rename", read_only)
        with pytest.raises(StorageError, match="rename .*staging.* the file system is read-only"):
            two.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)
        assert leftovers(two) == [] and assert_consistent(two) == [1, 2]

    def test_no_permission_to_create_the_model_folder(self, reg, src, monkeypatch):
        def denied(self, *a, **k):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(type(reg.root), "mkdir", denied)
        with pytest.raises(StorageError, match="create the model folder .*permission denied"):
            reg.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)


    def test_a_real_full_file_system_leaves_nothing_half_written(self, tmp_path, small_disk):
        from course_lib.registry import ModelRegistry

        reg = ModelRegistry(small_disk("1m") / "registry")
        big = fake_saved_model(tmp_path / "big", size=400_000)  # 1.6 MB
        with pytest.raises(StorageError, match="no space is left on the device"):
            reg.publish_saved_model(big, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)
        assert reg.versions("fraud") == [] and leftovers(reg) == []
        small = fake_saved_model(tmp_path / "small-model", size=1000)
        assert reg.publish_saved_model(small, "fraud", toy_set(), metrics=SEED_V2,
                                       latency_ms=1).version == 1


class TestLeftoversOfKilledPublishers:
    def test_the_next_publish_removes_them(self, two, src):
        for _ in range(3):
            done = run_child(two.root, src, crash_at="copying")
            assert done.returncode == -signal.SIGKILL, done.stderr
        assert len(leftovers(two)) == 3
        two.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)
        assert leftovers(two) == []

    def test_a_delete_removes_them_too(self, two, src):
        assert run_child(two.root, src, crash_at="hashed").returncode == -signal.SIGKILL
        two.delete("fraud", 1)
        assert leftovers(two) == []

    def test_those_of_a_live_publisher_are_kept(self, two):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            host = _fs.owner_tag().split("@")[1]
            live = two.root / "fraud" / f".staging-{child.pid}@{host}-00aa00aa00aa"
            dead = two.root / "fraud" / f".staging-{dead_pid()}@{host}-00bb00bb00bb"
            live.mkdir()
            dead.mkdir()
            two.set_alias("fraud", "candidate", 1)
            assert leftovers(two) == [live.name]
        finally:
            child.kill()
            child.wait(timeout=60)

    def test_clean_staging_removes_only_dead_ones_by_default(self, two, src):
        assert run_child(two.root, src, crash_at="saved").returncode == -signal.SIGKILL
        (two.root / "fraud" / ".staging-1-abc").mkdir()  # no writer named: kept by default
        assert two.clean_staging("fraud") == 1
        assert leftovers(two) == [".staging-1-abc"]


class TestPublishWhileDeleting:
    def test_a_version_deleted_right_after_publishing_is_never_a_raw_error(self, reg, tmp_path):
        src = fake_saved_model(tmp_path / "bigger", size=300_000)
        deleter = start_deleter(reg.root, 3.0)
        published = 0
        try:
            end = time.monotonic() + 3.0
            while time.monotonic() < end:
                try:
                    reg.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2,
                                            latency_ms=1)
                    published += 1
                except CourseLibError:
                    pass
        finally:
            out, err = deleter.communicate(timeout=60)
        assert deleter.returncode == 0, err
        assert published > 0 and int(out.split()[0]) > 0
        assert all(s.valid for s in reg.scan("fraud")) and leftovers(reg) == []
        assert all(reg.verify("fraud", v).ok for v in reg.versions("fraud"))
