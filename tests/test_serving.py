"""Tests of course_lib.persistence.serving: predictions from a fresh process.

One serving process serves the whole module (each start imports TensorFlow anew);
``predict_in_subprocess``, one-shot by design, starts its own.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from course_lib import persistence
from course_lib.errors import CourseLibError, InvalidInputError
from course_lib.persistence import ModelFileError, serving


def corrupt(path):
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    path.write_bytes(bytes(payload))


@pytest.fixture(scope="module")
def service():
    with persistence.ServingProcess() as running:
        yield running


class TestPredictInSubprocess:
    def test_fresh_process_gives_the_same_predictions(self, fraud_model, fraud_saved, fraud,
                                                      monkeypatch):
        seen = {}
        real_popen = serving.subprocess.Popen

        def spy(cmd, **kw):
            seen["cmd"] = cmd
            return real_popen(cmd, **kw)

        monkeypatch.setattr(serving.subprocess, "Popen", spy)
        scores = persistence.predict_in_subprocess(fraud_saved["keras"].path, fraud.test.x)
        np.testing.assert_allclose(scores, fraud_model.predict(fraud.test.x, verbose=0), atol=1e-6)
        # the input travels through files, not argv
        assert seen["cmd"][1:] == ["-m", "course_lib.persistence", "--serve"]

    def test_child_error_is_reported_clearly(self, fraud_saved):
        with pytest.raises(CourseLibError,
                           match="fresh process .* InvalidInputError: expected input"):
            persistence.predict_in_subprocess(fraud_saved["keras"].path, np.zeros((2, 3)))

    def test_missing_model_fails_before_starting_a_process(self, tmp_path, monkeypatch):
        monkeypatch.setattr(serving.subprocess, "Popen", None)  # any start would fail
        with pytest.raises(ModelFileError, match="nothing is there"):
            persistence.predict_in_subprocess(tmp_path / "nope.keras", np.zeros((1, 8)))


class TestServingProcess:
    def test_a_savedmodel_in_the_fresh_process_gives_the_same_predictions(
            self, service, fraud_model, fraud_saved, fraud):
        scores = service.predict(fraud_saved["savedmodel"].path, fraud.test.x)
        np.testing.assert_allclose(scores, fraud_model.predict(fraud.test.x, verbose=0), atol=1e-6)

    def test_serves_several_models(self, service, fraud_saved, fraud_model, fraud):
        for fmt in ("keras", "savedmodel", "h5"):
            np.testing.assert_allclose(service.predict(fraud_saved[fmt].path, fraud.test.x[:20]),
                                       fraud_model.predict(fraud.test.x[:20], verbose=0), atol=1e-6)

    def test_a_failed_load_does_not_stop_the_service(self, service, fraud_saved, fraud, tmp_path):
        bad = tmp_path / "bad.keras"
        bad.write_bytes(fraud_saved["keras"].path.read_bytes())
        corrupt(bad)
        with pytest.raises(CourseLibError, match="fresh process to load bad.keras"):
            service.predict(bad, fraud.test.x[:2])
        assert service.predict(fraud_saved["keras"].path, fraud.test.x[:2]).shape == (2, 1)

    def test_wrong_input_is_reported_and_the_service_goes_on(self, service, fraud_saved, fraud):
        with pytest.raises(CourseLibError, match="InvalidInputError: expected input 'features'"):
            service.predict(fraud_saved["keras"].path, np.zeros((2, 3)))
        assert service.predict(fraud_saved["h5"].path, fraud.test.x[:1]).shape == (1, 1)

    def test_unknown_module_is_reported(self, service):
        with pytest.raises(CourseLibError, match="No module named 'no_such_module_xyz'"):
            service.import_module("no_such_module_xyz")
        assert "no_such_module_xyz" not in service.imports

    def test_custom_layer_needs_the_import_in_the_service(self, service, fraud, tmp_path):
        from course_lib import models

        m = models.build_fraud_model(fraud.train.x, log_scale="registered")
        persistence.save(m, tmp_path / "custom.keras")
        with pytest.raises(CourseLibError, match="'LogScale', which is not registered"):
            service.predict(tmp_path / "custom.keras", fraud.test.x[:2])
        service.import_module("course_lib.layers")
        assert service.imports == ["course_lib.layers"] and service.used
        assert service.predict(tmp_path / "custom.keras", fraud.test.x[:2]).shape == (2, 1)

    def test_repr_says_it_runs(self, service):
        assert repr(service).endswith(", running)")

    def test_a_closed_service_refuses_requests(self, fraud_saved, fraud):
        service = persistence.ServingProcess()
        assert not service.used
        service.close()
        assert repr(service) == "ServingProcess(imports=[], stopped)"
        with pytest.raises(CourseLibError, match="it has stopped"):
            service.predict(fraud_saved["keras"].path, fraud.test.x[:2])

    def test_closing_skips_the_interpreters_teardown(self, tmp_path, monkeypatch):
        # TensorFlow's teardown takes over a second: the service exits (code 0) without it,
        # so an exit hook registered in the service never runs.
        marker = tmp_path / "teardown-ran"
        (tmp_path / "exit_hook.py").write_text(
            f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).touch)\n")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
            [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]))
        service = persistence.ServingProcess(["exit_hook"])
        service.close()
        assert service._proc.returncode == 0
        assert not marker.exists()

    @pytest.mark.parametrize("kwargs, message", [
        ({"timeout": 0}, "timeout to be a number above 0 seconds"),
        ({"imports": "course_lib.layers"}, "list of module names"),
    ])
    def test_bad_arguments_are_refused_before_starting(self, monkeypatch, kwargs, message):
        monkeypatch.setattr(serving.subprocess, "Popen", None)  # any start would fail
        with pytest.raises(InvalidInputError, match=message):
            persistence.ServingProcess(**kwargs)


class TestTransport:
    def test_dict_of_inputs_travels_by_name(self, service, two_input_model, two_inputs, tmp_path):
        path = persistence.save(two_input_model, tmp_path / "two.keras").path
        x = two_inputs[1][0]
        np.testing.assert_allclose(service.predict(path, x),
                                   two_input_model.predict(x, verbose=0), atol=1e-6)

    def test_images_keep_their_rank(self, service, digits_model, digits, tmp_path):
        path = persistence.save(digits_model, tmp_path / "digits").path
        assert service.predict(path, digits[1].x).shape == (len(digits[1].x), 10)

    def test_several_outputs_come_back_as_a_dict(self, service, multi_output_model, tmp_path):
        path = persistence.save(multi_output_model, tmp_path / "outs.keras").path
        out = service.predict(path, np.ones((3, 4)))
        assert {k: v.shape for k, v in out.items()} == {"score": (3, 1), "kind": (3, 3)}

    def test_text_inputs_travel_without_pickles(self, service, text_input_model, tmp_path):
        path = persistence.save(text_input_model, tmp_path / "text").path
        x = {"city": np.array([["Paris"], ["Nice"]]), "age": np.array([[3.0], [4.0]])}
        assert service.predict(path, x).shape == (2, 1)

    def test_batch_size_is_passed_on(self, service, fraud_saved, fraud):
        np.testing.assert_array_equal(
            service.predict(fraud_saved["savedmodel"].path, fraud.test.x[:30], batch_size=7),
            service.predict(fraud_saved["savedmodel"].path, fraud.test.x[:30]))

    def test_ragged_rows_are_refused_before_the_request(self, service, fraud_saved):
        with pytest.raises(InvalidInputError, match="could not read it"):
            service.predict(fraud_saved["keras"].path, [[1.0, 2.0], [3.0]])

    def test_a_request_that_fails_unexpectedly_is_answered(self, service, fraud_saved, fraud,
                                                           monkeypatch):
        import time

        def garbage(path, x):
            path.write_bytes(b"not an npz file")

        monkeypatch.setattr(serving._inputs, "save", garbage)
        start = time.perf_counter()
        with pytest.raises(CourseLibError, match="fresh process .* it failed: .*Error"):
            service.predict(fraud_saved["keras"].path, fraud.test.x[:2])
        assert time.perf_counter() - start < 30  # answered, not waited out
        monkeypatch.undo()
        assert service.predict(fraud_saved["keras"].path, fraud.test.x[:2]).shape == (2, 1)

    def test_timeout_of_predict_in_subprocess_is_checked_first(self, fraud_saved, monkeypatch):
        monkeypatch.setattr(serving.subprocess, "Popen", None)  # any start would fail
        with pytest.raises(InvalidInputError, match="timeout to be a number above 0 seconds"):
            persistence.predict_in_subprocess(fraud_saved["keras"].path, np.zeros((1, 8)),
                                              timeout=-5)


class TestBadRequests:
    def test_no_rows_are_refused_before_the_request(self, service, fraud_saved):
        with pytest.raises(InvalidInputError, match="expected at least one row in x; found 0"):
            service.predict(fraud_saved["savedmodel"].path, np.zeros((0, 8)))
        assert service.predict(fraud_saved["keras"].path, np.zeros((1, 8))).shape == (1, 1)

    def test_no_rows_fail_before_starting_a_process(self, fraud_saved, monkeypatch):
        monkeypatch.setattr(serving.subprocess, "Popen", None)  # any start would fail
        with pytest.raises(InvalidInputError, match="expected at least one row in x; found 0"):
            persistence.predict_in_subprocess(fraud_saved["keras"].path, np.zeros((0, 8)))

    def test_a_missing_value_among_objects_is_refused_before_the_request(self, service,
                                                                          fraud_saved):
        rows = np.array([[1.0] * 7 + [None]], dtype=object)
        with pytest.raises(InvalidInputError, match=r"found None \(NoneType\)"):
            service.predict(fraud_saved["keras"].path, rows)

    def test_values_beyond_the_inputs_dtype_are_bad_input(self, service, fraud_saved):
        rows = np.full((2, 8), 1e300)
        with pytest.raises(InvalidInputError, match="float32's range"):
            service.predict(fraud_saved["keras"].path, rows)

    def test_the_services_own_input_check_keeps_its_class(self, service, fraud_saved):
        with pytest.raises(InvalidInputError, match="expected input 'features' of shape"):
            service.predict(fraud_saved["keras"].path, np.zeros((2, 3)))


@pytest.fixture
def dying_service(tmp_path, monkeypatch):
    """A service whose path holds a module that, imported, says why on stderr and exits with 3."""
    (tmp_path / "dies_on_import.py").write_text(
        "import os, sys\nsys.stderr.write('boom: out of memory\\n')\nsys.stderr.flush()\n"
        "os._exit(3)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with persistence.ServingProcess(timeout=120) as running:  # a wait would say 'within 120 s'
        yield running


class TestAProcessThatDies:
    def test_its_death_is_reported_with_exit_code_and_last_words(self, dying_service):
        with pytest.raises(CourseLibError,
                           match=r"it exited with code 3; its last lines on stderr: .*boom: out of"):
            dying_service.import_module("dies_on_import")

    def test_the_next_call_says_the_process_is_gone(self, dying_service, fraud_saved):
        with pytest.raises(CourseLibError, match="exited"):
            dying_service.import_module("dies_on_import")
        with pytest.raises(CourseLibError, match=r"it is gone \(it exited with code 3;.*\)\. "
                                                 r"Fix: start a new ServingProcess"):
            dying_service.predict(fraud_saved["keras"].path, np.zeros((1, 8)))
        assert repr(dying_service).endswith(", stopped)")
