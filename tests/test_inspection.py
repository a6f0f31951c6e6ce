"""Tests of course_lib.persistence.inspection: files, sizes, signatures, saved_model_cli."""

from __future__ import annotations

import shutil

import pytest

from course_lib import persistence
from course_lib.persistence import ModelFileError


@pytest.fixture(scope="module")
def savedmodel_info(fraud_saved):
    return persistence.inspect(fraud_saved["savedmodel"].path)


class TestInspect:
    def test_savedmodel_files_and_signature(self, savedmodel_info):
        paths = {f.path for f in savedmodel_info.files}
        assert {"saved_model.pb", "fingerprint.pb", "variables/variables.index", "assets/"} <= paths
        sig = {s.name: s for s in savedmodel_info.signatures}["serving_default"]
        assert str(sig.inputs[0]) == "features: float32 (None, 8)"
        assert str(sig.outputs[0]) == "output_0: float32 (None, 1)"

    def test_files_are_listed_in_path_order_with_their_roles(self, savedmodel_info):
        paths = [f.path for f in savedmodel_info.files]
        assert paths == sorted(paths, key=lambda p: p.rstrip("/").split("/"))
        roles = {f.path: f.role for f in savedmodel_info.files}
        assert roles["saved_model.pb"].startswith("the graph") and roles["assets/"]

    def test_sizes_add_up_to_the_disk_size(self, savedmodel_info, fraud_saved):
        assert savedmodel_info.size_bytes == savedmodel_info.disk_bytes \
            == fraud_saved["savedmodel"].size_bytes

    def test_keras_archive_contents(self, fraud_saved):
        info = persistence.inspect(fraud_saved["keras"].path)
        assert {f.path for f in info.files} == {"metadata.json", "config.json", "model.weights.h5"}
        assert info.metadata["keras_version"].startswith("3.")

    def test_h5_is_one_file(self, fraud_saved):
        info = persistence.inspect(fraud_saved["h5"].path)
        assert [f.path for f in info.files] == ["fraud.h5"] and info.ok

    def test_text_lists_files_and_signature(self, savedmodel_info):
        text = str(savedmodel_info)
        assert "saved_model.pb" in text and "signature 'serving_default':" in text

    def test_every_input_and_output_of_the_signature(self, multi_output_model, two_input_model,
                                                      tmp_path):
        two = persistence.save(two_input_model, tmp_path / "two").path
        outs = persistence.save(multi_output_model, tmp_path / "outs").path
        sig = {s.name: s for s in persistence.inspect(two).signatures}["serving_default"]
        assert [str(t) for t in sig.inputs] == ["mean: float32 (None, 10)",
                                                "worst: float32 (None, 10)"]
        sig = {s.name: s for s in persistence.inspect(outs).signatures}["serving_default"]
        assert [str(t) for t in sig.outputs] == ["output_0: float32 (None, 1)",
                                                 "output_1: float32 (None, 3)"]

    def test_a_damaged_savedmodel_is_a_clear_error(self, fraud_saved, tmp_path):
        bad = tmp_path / "bad_savedmodel"
        shutil.copytree(fraud_saved["savedmodel"].path, bad)
        (bad / "saved_model.pb").write_bytes(b"not a protobuf")
        with pytest.raises(ModelFileError, match="could not load it"):
            persistence.inspect(bad)


class TestModelInfoReport:
    def test_a_complete_savedmodel_is_ok(self, savedmodel_info):
        assert savedmodel_info.ok and savedmodel_info.failures == ()
        assert savedmodel_info.verdict.startswith("OK: 5 files") \
            and "'serving_default'" in savedmodel_info.verdict

    def test_sizes_are_shown_by_the_one_size_rule(self, savedmodel_info):
        from course_lib import _display

        text = str(savedmodel_info)
        assert savedmodel_info.title == (
            f"fraud_savedmodel (savedmodel, {_display.size(savedmodel_info.disk_bytes)} on disk)")
        assert all(_display.size(f.size_bytes) in text for f in savedmodel_info.files)
        assert text.splitlines()[0] == savedmodel_info.title
        assert text.splitlines()[-1] == savedmodel_info.verdict

    def test_a_keras_archive_without_weights_is_not_ok(self, fraud_saved, tmp_path):
        import zipfile

        bad = tmp_path / "no_weights.keras"
        with zipfile.ZipFile(fraud_saved["keras"].path) as src, zipfile.ZipFile(bad, "w") as dst:
            dst.writestr("config.json", src.read("config.json"))
        info = persistence.inspect(bad)
        assert not info.ok and info.verdict == (
            "NOT OK: a keras model needs model.weights.h5, which is missing")

    def test_html_has_the_table_signatures_and_verdict(self, savedmodel_info):
        import html

        page = savedmodel_info._repr_html_()
        assert "<table" in page and "<b>serving_default</b>" in page
        assert html.escape(savedmodel_info.verdict) in page
        assert repr(savedmodel_info) == str(savedmodel_info)


class TestSavedModelCli:
    @pytest.fixture(scope="class")
    @classmethod
    def shown(cls, fraud_saved):
        """What the tool printed for the session's SavedModel (one run: it imports TensorFlow)."""
        return persistence.saved_model_cli(fraud_saved["savedmodel"].path)

    def test_prints_signatures_like_the_real_tool(self, shown):
        assert "signature_def['serving_default']" in shown and "inputs['features']" in shown

    def test_op_list_is_in_a_stable_order(self, shown, fraud_saved):
        assert persistence.saved_model_cli(fraud_saved["savedmodel"].path) == shown

    def test_refuses_a_keras_file(self, fraud_saved):
        with pytest.raises(ModelFileError, match="expected a SavedModel directory"):
            persistence.saved_model_cli(fraud_saved["keras"].path)
