"""Trained models and datasets shared by the whole test session.

Training takes seconds; every test file used to train its own copy of the same model.
These fixtures train each configuration once per session. Tests must not change them
(save copies, never mutate weights).
"""

from __future__ import annotations

import numpy as np
import pytest


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
def fraud_saved(fraud_model, tmp_path_factory):
    """``fraud_model`` saved once in each format: {"keras": SaveResult, "savedmodel": ..., "h5": ...}."""
    from course_lib import persistence

    root = tmp_path_factory.mktemp("fraud_saved")
    names = {"keras": "fraud.keras", "savedmodel": "fraud_savedmodel", "h5": "fraud.h5"}
    return {fmt: persistence.save(fraud_model, root / name) for fmt, name in names.items()}
