"""Session fixtures shared by the tests (tests/) and the docstring examples (course_lib/).

Training takes seconds, and so do saving, converting and publishing: each configuration
is built once per session, here, and both the tests and the doctests use it. Nobody may
change these objects (save copies, never mutate weights); the doctests get private copies
of the files in a fresh working folder.

The docstring examples name what a reader has at hand in a lesson: ``fraud`` (the data),
``model`` (the lessons' trained fraud model), ``x_test``, ``y_test``, ``reg`` (a registry
with versions), files such as "fraud.keras" or "web/fraud". ``_doctest_setup`` hands each
example exactly what it names (see ``NAMES`` and ``FILES``), building the expensive ones
on first use, so a doctest that needs no model pays for none.
"""

from __future__ import annotations

import ast
import builtins
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _pytest.doctest import DoctestItem

# -- no test writes a learner's progress file (course_lib.progress) in the home folder --------


def pytest_configure(config: pytest.Config) -> None:
    """COURSE_LIB_PROGRESS names a temporary file before anything runs: the tests, the doctests
    and the kernels that nbval and the browser tests start (they inherit the variable)."""
    import os
    import tempfile

    folder = tempfile.mkdtemp(prefix="course-lib-progress-")
    config.stash[_PROGRESS_FOLDER] = folder
    os.environ["COURSE_LIB_PROGRESS"] = str(Path(folder) / "progress.json")


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(_PROGRESS_FOLDER, ""):
        shutil.rmtree(config.stash[_PROGRESS_FOLDER], ignore_errors=True)


_PROGRESS_FOLDER = pytest.StashKey[str]()


# -- the longest files first, so that pytest-xdist's workers finish together -------------------

ROOT = Path(__file__).resolve().parent


def _cost_rank(item: pytest.Item) -> int:
    """0: the browser tests (each lesson run in JupyterLab, then its widgets worked); 1: the
    lessons under nbval; 2: the unit tests; 3: the docstring examples (many small files,
    which fill the workers' last minutes evenly)."""
    path = Path(str(item.path))
    if path.suffix == ".ipynb":
        return 1
    if (ROOT / "tests" / "browser") in path.parents:
        return 0
    return 3 if isinstance(item, DoctestItem) else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the files by :func:`_cost_rank`, keeping each file's tests together and in order
    (``make test`` hands the files out in this order: ``--dist loadfile --no-loadscope-reorder``)."""
    items.sort(key=_cost_rank)


# -- the session's datasets and models (tests and doctests) ----------------------------------


@pytest.fixture(scope="session")
def fraud():
    """The fraud dataset of the lessons (checksum-verified snapshot, fixed split)."""
    from course_lib import data

    return data.load_fraud()


@pytest.fixture(scope="session")
def fraud_model(fraud):
    """The fraud model (scaling inside), trained 2 epochs with balanced class weights."""
    from course_lib import models

    m = models.build_fraud_model(fraud.train.x)
    models.train(m, fraud.train, epochs=2, class_weight="balanced")
    return m


@pytest.fixture(scope="session")
def untrained_fraud_model(fraud):
    """The fraud model's layers, untrained: for tests where the weights do not matter."""
    from course_lib import models

    return models.build_fraud_model(fraud.train.x)


@pytest.fixture(scope="session")
def lesson_model(fraud):
    """The lessons' standard model, ``models.fraud_model(fraud)`` (10 epochs): the doctests' ``model``.

    Unlike ``fraud_model`` (2 epochs, recall 0.37) it passes the release check's recall floor.
    """
    from course_lib import models

    return models.fraud_model(fraud)


@pytest.fixture(scope="session")
def small_split():
    """400 rows of 3 features on very different scales, with a 0/1 label."""
    from course_lib import data

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(400, 3)) * [1.0, 10.0, 0.1]).astype("float32")
    y = (x[:, 0] + rng.normal(scale=0.5, size=400) > 0.8).astype("int64")
    return data.Split(x, y)


@pytest.fixture(scope="session")
def small_model(small_split):
    """A 3 -> 4 -> 1 classifier trained on ``small_split`` (fast to convert and run)."""
    from course_lib import models

    m = models.build_fraud_model(small_split.x, hidden=(4,), name="small")
    models.train(m, small_split, epochs=3, batch_size=32, class_weight="balanced")
    return m


@pytest.fixture(scope="session")
def registry_models(fraud):
    """Two fraud models of different sizes, one epoch each: (fraud, small, big)."""
    from course_lib import models

    small = models.build_fraud_model(fraud.train.x, hidden=(4,), seed=1)
    models.train(small, fraud.train, epochs=1, class_weight="balanced", seed=1)
    big = models.build_fraud_model(fraud.train.x, hidden=(32,), seed=2)
    models.train(big, fraud.train, epochs=1, class_weight="balanced", seed=2)
    return fraud, small, big


# -- saved, converted and published once per session ---------------------------------------------


@pytest.fixture(scope="session")
def small_tfjs(small_model, tmp_path_factory):
    """``small_model`` exported as a SavedModel and converted to a float32 TF.js graph model.

    A namespace: ``.savedmodel`` (the SavedModel folder), ``.f32`` and ``.u8`` (tfjs
    Conversions: float32 from the model, uint8 from the SavedModel). Tests that write
    conversions of their own use their own tmp folders.
    """
    from types import SimpleNamespace

    from course_lib import persistence, tfjs

    work = tmp_path_factory.mktemp("small_tfjs")
    savedmodel = persistence.save(small_model, work / "savedmodel").path
    return SimpleNamespace(savedmodel=savedmodel, f32=tfjs.convert(small_model, work / "f32"),
                           u8=tfjs.convert(savedmodel, work / "u8", quantize="uint8"))


@pytest.fixture(scope="session")
def tfjs_graphs(digits_model, two_input_model, multi_output_model, tmp_path_factory):
    """The other tasks' models converted once to float32 TF.js graph models (their folders).

    ``.digits`` (images (n, 8, 8, 1), 10 classes), ``.two_inputs`` ('mean' and 'worst'),
    ``.multi_output`` (outputs output_0 (n, 1) and output_1 (n, 3)).
    """
    from types import SimpleNamespace

    from course_lib import tfjs

    work = tmp_path_factory.mktemp("tfjs_graphs")
    models = {"digits": digits_model, "two_inputs": two_input_model,
              "multi_output": multi_output_model}
    return SimpleNamespace(**{k: tfjs.convert(m, work / k).path for k, m in models.items()})


@pytest.fixture(scope="session")
def fraud_saved(fraud_model, tmp_path_factory):
    """``fraud_model`` saved once in each format: {"keras": SaveResult, "savedmodel": ..., "h5": ...}."""
    from course_lib import persistence

    root = tmp_path_factory.mktemp("fraud_saved")
    names = {"keras": "fraud.keras", "savedmodel": "fraud_savedmodel", "h5": "fraud.h5"}
    return {fmt: persistence.save(fraud_model, root / name) for fmt, name in names.items()}


@pytest.fixture(scope="session")
def real_registry(tmp_path_factory, registry_models):
    """Versions 1 (small model) and 2 (bigger, with a .keras file) of real Keras models.

    Published once per session; tests must not change it (tests/registry's ``real`` is a
    private copy).
    """
    from course_lib.registry import EvalSet, ModelRegistry

    fraud, small, big = registry_models
    reg = ModelRegistry(tmp_path_factory.mktemp("real") / "registry")
    test = EvalSet("fraud test", fraud.test.x, fraud.test.y)
    reg.publish(small, "fraud", test, notes="small")
    reg.publish(big, "fraud", test, keras_file=True, tags={"owner": "course"})
    return reg


# -- what the docstring examples name ------------------------------------------------------------


class LessonFiles:
    """The files of ``lesson_model`` the examples load, each written on first use.

    ``path(name)`` is the session's copy of "fraud.keras", "web/fraud"...; ``results``
    keeps what writing it returned (a SaveResult or a tfjs Conversion).
    """

    def __init__(self, model: Any, root: Path) -> None:
        self.model, self.root, self.results = model, root, {}

    def _write(self, name: str, target: Path) -> Any:
        from course_lib import persistence, teaching, tfjs

        savedmodel = lambda: self.path("fraud_savedmodel")
        writers: dict[str, Callable[[], Any]] = {
            "fraud.keras": lambda: persistence.save(self.model, target),
            "fraud_savedmodel": lambda: persistence.save(self.model, target),
            "fraud.h5": lambda: persistence.save(self.model, target),
            "fraud.weights.h5": lambda: persistence.save_weights(self.model, target),
            "export/fraud": lambda: shutil.copytree(savedmodel(), target),
            "web/fraud": lambda: tfjs.convert(savedmodel(), target),
            "web/fraud_f16": lambda: tfjs.convert(savedmodel(), target, quantize="float16"),
            "web/fraud_uint8": lambda: tfjs.convert(savedmodel(), target, quantize="uint8"),
            "web/fraud_layers": lambda: teaching.save_layers_model(self.model, target),
        }
        return writers[name]()

    def path(self, name: str) -> Path:
        target = self.root / name
        if name not in self.results:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.results[name] = self._write(name, target)
        return target

    def copy_to(self, name: str, folder: Path) -> None:
        src, dst = self.path(name), folder / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy2(src, dst)


@pytest.fixture(scope="session")
def lesson_files(lesson_model, tmp_path_factory):
    """:class:`LessonFiles` of the lessons' model (nothing is written until an example asks)."""
    return LessonFiles(lesson_model, tmp_path_factory.mktemp("lesson_files"))


#: The names :data:`FILES` knows; an example that reads one of them gets a copy in its folder.
FILES = ("fraud.keras", "fraud_savedmodel", "fraud.h5", "fraud.weights.h5", "export/fraud",
         "web/fraud", "web/fraud_f16", "web/fraud_uint8", "web/fraud_layers")


@pytest.fixture(scope="session")
def doctest_registry(real_registry, fraud, fraud_model, tmp_path_factory):
    """``real_registry`` plus version 3 (``fraud_model``: 2 epochs, recall 0.37), production -> 1.

    Version 1 the small model, 2 the bigger one (better on every metric), 3 one that a
    recall floor of 0.8 refuses. The examples each get a copy (``reg``).
    """
    from course_lib.registry import EvalSet, ModelRegistry

    root = tmp_path_factory.mktemp("doctest_registry") / "registry"
    shutil.copytree(real_registry.root, root)
    reg = ModelRegistry(root)
    reg.publish(fraud_model, "fraud", EvalSet("fraud test", fraud.test.x, fraud.test.y),
                notes="2 epochs")
    reg.promote("fraud", 1)
    return reg


@pytest.fixture(scope="session")
def serving_process():
    """One :class:`~course_lib.persistence.ServingProcess` for the examples that name ``service``."""
    from course_lib.persistence import ServingProcess

    with ServingProcess() as service:
        yield service


@pytest.fixture(scope="session")
def quantization_report(lesson_model, fraud, tmp_path_factory):
    """``compare_quantizations`` of the lessons' model (float32, float16, uint8)."""
    from course_lib.tfjs import compare_quantizations

    return compare_quantizations(lesson_model, fraud.test.x, fraud.test.y,
                                 tmp_path_factory.mktemp("quantizations"))


def _fresh_model(request: pytest.FixtureRequest) -> Any:
    from course_lib import models

    return models.build_fraud_model(request.getfixturevalue("fraud").train.x)


def _registry_copy(request: pytest.FixtureRequest) -> Any:
    from course_lib.registry import ModelRegistry

    shutil.copytree(request.getfixturevalue("doctest_registry").root, "work/registry")
    return ModelRegistry("work/registry")


def _conversion(request: pytest.FixtureRequest) -> Any:
    files = request.getfixturevalue("lesson_files")
    files.path("web/fraud_uint8")
    return files.results["web/fraud_uint8"]


#: What a name in an example stands for: ``(modules it applies to, or None for all; maker)``.
NAMES: dict[str, tuple[tuple[str, ...] | None, Callable[[pytest.FixtureRequest], Any]]] = {
    "np": (None, lambda r: np),
    "fraud": (None, lambda r: r.getfixturevalue("fraud")),
    "x_test": (None, lambda r: r.getfixturevalue("fraud").test.x),
    "y_test": (None, lambda r: r.getfixturevalue("fraud").test.y),
    "model": (None, lambda r: r.getfixturevalue("lesson_model")),
    "fresh_model": (None, _fresh_model),
    "reg": (("course_lib.registry",), _registry_copy),
    "service": (("course_lib.persistence",), lambda r: r.getfixturevalue("serving_process")),
    "conversion": (("course_lib.tfjs",), _conversion),
    "report": (("course_lib.tfjs.quantization",),
               lambda r: r.getfixturevalue("quantization_report")),
}

#: Functions whose second argument is a path they write (an example writing a file gets none).
WRITERS = ("save", "save_weights", "save_layers_model", "convert", "to_tflite")


def _examples(item: DoctestItem) -> list[ast.Module]:
    trees = []
    for example in item.dtest.examples:
        try:
            trees.append(ast.parse(example.source))
        except SyntaxError:
            pass
    return trees


def _free_names(trees: list[ast.Module], known: dict[str, Any]) -> set[str]:
    """Names the examples read before assigning them, that neither the module nor Python defines."""
    assigned: set[str] = set()
    free: set[str] = set()
    for tree in trees:
        nodes = list(ast.walk(tree))
        for node in nodes:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                    and node.id not in assigned:
                free.add(node.id)
        for node in nodes:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                assigned.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                assigned.update((a.asname or a.name).split(".")[0] for a in node.names)
    return {n for n in free if n not in known and not hasattr(builtins, n)}


def _files_read(trees: list[ast.Module]) -> list[str]:
    """The :data:`FILES` the examples mention, except those an example writes before reading."""
    first: dict[str, bool] = {}  # name -> the first mention writes it
    for tree in trees:
        writes = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and len(node.args) > 1:
                func = node.func.attr if isinstance(node.func, ast.Attribute) else \
                    getattr(node.func, "id", "")
                target = node.args[1]
                if func in WRITERS and isinstance(target, ast.Constant):
                    writes.add(target.value)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in FILES:
                first.setdefault(node.value, node.value in writes)
    return [name for name, written in first.items() if not written]


def _lesson_notebooks(folder: Path) -> None:
    """``notebooks/00_hello.ipynb``: a one-cell lesson for the validate examples (no TensorFlow)."""
    import nbformat

    cell = nbformat.v4.new_code_cell("print(1 + 1)", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    (folder / "notebooks").mkdir()
    nbformat.write(nb, folder / "notebooks" / "00_hello.ipynb")


@pytest.fixture
def progress_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A progress file of this test's own (``COURSE_LIB_PROGRESS``), for tests that record
    answers (the exercises and the quiz widget)."""
    path = tmp_path / "progress.json"
    monkeypatch.setenv("COURSE_LIB_PROGRESS", str(path))
    return path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """A real, small file system for disk-full tests: ``mnt = small_disk("1m")`` mounts a tmpfs
    of that size in ``tmp_path`` (unmounted after the test). Mounting needs root: elsewhere
    the test is skipped, with the reason."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        mnt = tmp_path / f"disk-{len(mounted)}"
        mnt.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"mounting a {size} tmpfs is not allowed here ({done.stderr.strip()})")
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.fixture(autouse=True)
def _doctest_setup(request: pytest.FixtureRequest) -> Iterator[None]:
    """For a docstring example: a fresh working folder, and what the example names in it.

    Nothing for the other tests. The names come from :data:`NAMES`, the files from
    :data:`FILES` (copies of the session's), each only when the example uses it.
    """
    item = request.node
    if not isinstance(item, DoctestItem) or item.dtest is None:
        yield
        return
    monkeypatch = request.getfixturevalue("monkeypatch")
    folder = request.getfixturevalue("tmp_path")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("COURSE_LIB_PROGRESS", str(folder / "progress.json"))  # a fresh one each
    namespace = request.getfixturevalue("doctest_namespace")
    module = item.dtest.globs.get("__name__", "")
    trees = _examples(item)
    for name in sorted(_free_names(trees, item.dtest.globs)):
        where, make = NAMES.get(name, ((), None))
        if make is not None and (where is None or module.startswith(where)):
            monkeypatch.setitem(namespace, name, make(request))
    for name in _files_read(trees):
        request.getfixturevalue("lesson_files").copy_to(name, folder)
    if module == "course_lib.instructor.validation":
        _lesson_notebooks(folder)
    if module == "course_lib.persistence.serving":  # it imports TensorFlow while the others run
        request.getfixturevalue("serving_process")
    shared = namespace.get("model")
    if shared is None:
        yield
        return
    before = [w.copy() for w in shared.get_weights()]
    yield
    if not all(np.array_equal(a, b) for a, b in zip(before, shared.get_weights())):
        pytest.fail(f"{item.name} changed the weights of the shared `model`; every later "
                    "example sees them. Build a model of its own in the example instead.")


# -- one small model per task (issue: course_lib measures any Keras model) -----------------------

@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled 8x8 digits as images (n, 8, 8, 1) with 10 classes: (train, test)."""
    from sklearn.datasets import load_digits

    from course_lib import data

    d = load_digits()
    x = (d.images[..., None] / 16.0).astype("float32")
    y = d.target.astype("int64")
    return data.Split(x[:1400], y[:1400]), data.Split(x[1400:], y[1400:])


@pytest.fixture(scope="session")
def digits_model(digits):
    """A 10-class Conv2D classifier on the digits (softmax output), trained in a few seconds."""
    from course_lib import _tf, models

    keras = _tf.keras()
    models.set_seed(0)
    inputs = keras.Input((8, 8, 1), name="pixels")
    h = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    h = keras.layers.Flatten()(h)
    outputs = keras.layers.Dense(10, activation="softmax", name="digit")(h)
    model = keras.Model(inputs, outputs, name="digits")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    train, _test = digits
    model.fit(train.x, train.y, epochs=4, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="session")
def diabetes():
    """scikit-learn's bundled diabetes regression (10 features, a disease progression score)."""
    from sklearn.datasets import load_diabetes

    from course_lib import data

    d = load_diabetes()
    x, y = d.data.astype("float32"), d.target.astype("float32")
    return data.Split(x[:350], y[:350]), data.Split(x[350:], y[350:])


@pytest.fixture(scope="session")
def diabetes_model(diabetes):
    """A regression network (normalization inside, one linear output)."""
    from course_lib import _tf, models

    keras = _tf.keras()
    models.set_seed(0)
    train, _test = diabetes
    norm = keras.layers.Normalization(name="scale")
    norm.adapt(train.x)
    inputs = keras.Input((10,), name="features")
    h = keras.layers.Dense(16, activation="relu")(norm(inputs))
    outputs = keras.layers.Dense(1, name="progression")(h)
    model = keras.Model(inputs, outputs, name="diabetes")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.fit(train.x, train.y, epochs=30, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="session")
def two_inputs():
    """Breast-cancer rows as two named inputs, 'mean' (n, 10) and 'worst' (n, 10); label 1 = malignant."""
    from course_lib import data

    d = data.load_breast_cancer()
    split = lambda s: ({"mean": s.x[:, :10], "worst": s.x[:, 20:30]}, s.y)  # noqa: E731
    return split(d.train), split(d.test)


@pytest.fixture(scope="session")
def two_input_model(two_inputs):
    """A functional binary classifier with two named inputs, fed as a dict."""
    from course_lib import _tf, models

    keras = _tf.keras()
    models.set_seed(0)
    (x, y), _test = two_inputs
    ins = []
    parts = []
    for name in ("mean", "worst"):
        i = keras.Input((10,), name=name)
        norm = keras.layers.Normalization(name=f"scale_{name}")
        norm.adapt(x[name])
        ins.append(i)
        parts.append(norm(i))
    h = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()(parts))
    out = keras.layers.Dense(1, activation="sigmoid", name="malignant")(h)
    model = keras.Model(ins, out, name="two_inputs")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    return model


def _two_outputs(as_dict: bool):
    """Untrained: input 'features' (n, 4); outputs 'score' (n, 1) sigmoid and 'kind' (n, 3) softmax."""
    from course_lib import _tf, models

    keras = _tf.keras()
    models.set_seed(0)
    inputs = keras.Input((4,), name="features")
    h = keras.layers.Dense(8, activation="relu")(inputs)
    score = keras.layers.Dense(1, activation="sigmoid", name="score")(h)
    kind = keras.layers.Dense(3, activation="softmax", name="kind")(h)
    outputs = {"score": score, "kind": kind} if as_dict else [score, kind]
    return keras.Model(inputs, outputs, name="two_outputs")


@pytest.fixture(scope="session")
def multi_output_model():
    """Two outputs, 'score' (n, 1) and 'kind' (n, 3), returned as a list (untrained)."""
    return _two_outputs(as_dict=False)


@pytest.fixture(scope="session")
def two_output_model():
    """The same two outputs, returned as a dict by output name (untrained)."""
    return _two_outputs(as_dict=True)


@pytest.fixture(scope="session")
def text_input_model():
    """Untrained: a text input 'city' (n, 1) looked up by a StringLookup, 'age' (n, 1), one sigmoid output."""
    from course_lib import _tf, models

    keras = _tf.keras()
    models.set_seed(0)
    city, age = keras.Input((1,), dtype="string", name="city"), keras.Input((1,), name="age")
    ids = keras.layers.StringLookup(vocabulary=["Paris", "Lyon"], output_mode="one_hot")(city)
    h = keras.layers.Concatenate()([keras.layers.Reshape((3,))(ids), age])
    out = keras.layers.Dense(1, activation="sigmoid", name="yes")(h)
    return keras.Model({"city": city, "age": age}, out, name="text_input")


# -- each task model's release check, made once (tests/test_tasks.py, tests/test_task_<kind>.py) --

def _release(model: Any, data: Any, tmp_path_factory: pytest.TempPathFactory, **kwargs: Any) -> Any:
    from course_lib.release import ReleasePolicy, release_check

    policy = ReleasePolicy(**kwargs.pop("policy", {}))
    return release_check(model, data, tmp_path_factory.mktemp("rel") / "r", policy=policy, **kwargs)


@pytest.fixture(scope="session")
def fraud_release(fraud, fraud_model, tmp_path_factory):
    """``release_check`` of the fraud model on the Dataset, as lesson 06 calls it (threshold 0.2)."""
    return _release(fraud_model, fraud, tmp_path_factory, policy={"threshold": 0.2})


@pytest.fixture(scope="session")
def digits_release(digits, digits_model, tmp_path_factory):
    """``release_check`` of the 10-class Conv2D on (x, y) of the test rows, with multi-class rules."""
    _train, test = digits
    return _release(digits_model, (test.x, test.y), tmp_path_factory,
                    policy={"min_macro_f1": 0.5, "min_accuracy": 0.999})


@pytest.fixture(scope="session")
def diabetes_release(diabetes, diabetes_model, tmp_path_factory):
    """``release_check`` of the regression on its test Split, with no quality rule."""
    return _release(diabetes_model, diabetes[1], tmp_path_factory)


@pytest.fixture(scope="session")
def cancer_release(two_inputs, two_input_model, tmp_path_factory):
    """``release_check`` of the two-input model on (dict, y), named "cancer" (recall floor 0.5)."""
    return _release(two_input_model, two_inputs[1], tmp_path_factory, name="cancer",
                    policy={"min_recall": 0.5})
