"""Small Keras models for the lessons, trained reproducibly.

>>> from course_lib import data, models
>>> fraud = data.load_fraud()
>>> model = models.build_fraud_model(fraud.train.x)
>>> history = models.train(model, fraud.train, epochs=5, class_weight="balanced")
>>> scores = models.predict_scores(model, fraud.test.x)
>>> scores.shape
(4001,)

Preprocessing lives inside the model (a ``Normalization`` layer adapted on the
training features), so a saved model takes raw transactions and nobody has to
re-implement the scaling at serving time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import _checks, _display, _tf
from course_lib.data import Dataset, Split
from course_lib.errors import InvalidInputError
from course_lib.metrics import METRIC_NAMES, Metrics
from course_lib.teaching import Standardizer, fit_standardizer  # lesson 01 imports them from here

__all__ = [
    "LOG_SCALE_KINDS",
    "OVERFITTING_GAP",
    "OverfittingVerdict",
    "Standardizer",
    "build_fraud_model",
    "class_weights",
    "fit_standardizer",
    "fraud_model",
    "overfitting_check",
    "predict_scores",
    "prediction_gap",
    "set_seed",
    "train",
]

#: How ``build_fraud_model(log_scale=...)`` adds its log transform of the skewed columns.
LOG_SCALE_KINDS = (None, "registered", "unregistered", "lambda")



def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic.

    >>> set_seed(0)
    """
    keras = _tf.keras()
    keras.utils.set_random_seed(seed)
    _tf.tf().config.experimental.enable_op_determinism()


def _log_scale_layer(kind: str, width: int) -> Any:
    keras = _tf.keras()
    from course_lib import layers

    if kind == "registered":
        return layers.LogScale(name="log_scale")
    if kind == "unregistered":
        return layers.UnregisteredLogScale(name="log_scale")
    # The same computation as LogScale, as a Python lambda: Keras stores its
    # bytecode in the saved file, which is why safe mode refuses to load it.
    return keras.layers.Lambda(
        lambda x, skewed: (__import__("keras").ops.log1p(__import__("keras").ops.maximum(x, 0.0)) * skewed
                           + x * (1.0 - __import__("keras").ops.convert_to_tensor(skewed))),
        arguments={"skewed": layers.column_mask(width, layers.SKEWED_COLUMNS).tolist()}, output_shape=(width,),
        name="log_scale",
    )


def build_fraud_model(
    train_x: np.ndarray, *, normalize: bool = True, log_scale: str | None = None,
    hidden: Sequence[int] = (16,), learning_rate: float = 1e-3, seed: int = 0,
    name: str = "fraud_model",
) -> Any:
    """A small dense binary classifier whose first layer scales the raw features.

    ``normalize=False`` leaves the raw features as they are (amounts in the
    hundreds next to 0/1 flags): the "naive" model of lesson 00.
    ``log_scale`` adds a log transform of the skewed columns first, as the
    registered custom layer, an unregistered one, or a ``Lambda`` layer (see
    :mod:`course_lib.layers`; lesson 01 shows how each one loads).

    >>> m = build_fraud_model(np.ones((4, 3), dtype="float32"))
    >>> m.output_shape
    (None, 1)
    """
    keras = _tf.keras()
    x = _checks.features(train_x, "train_x")
    if log_scale not in LOG_SCALE_KINDS:
        raise InvalidInputError(
            f"expected log_scale to be one of {LOG_SCALE_KINDS}; found {log_scale!r}."
        )
    set_seed(seed)
    inputs = keras.Input(shape=(x.shape[1],), name="features")
    h = inputs
    if log_scale is not None:
        layer = _log_scale_layer(log_scale, x.shape[1])
        h = layer(h)
        x = np.asarray(layer(x))  # the normalization below sees what the layer outputs
    if normalize:
        norm = keras.layers.Normalization(name="scaling")
        norm.adapt(x)
        h = norm(h)
    for i, units in enumerate(hidden):
        h = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(h)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="fraud_probability")(h)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=[keras.metrics.Recall(name="recall"), keras.metrics.Precision(name="precision")],
    )
    return model


def class_weights(y: np.ndarray) -> dict[int, float]:
    """Weights that make both classes count equally in the loss (scikit-learn's "balanced").

    >>> class_weights(np.array([0, 0, 0, 1]))
    {0: 0.6666666666666666, 1: 2.0}
    """
    y = np.asarray(y)
    counts = np.bincount(y.astype(np.int64), minlength=2)
    if (counts == 0).any():
        raise InvalidInputError(
            f"expected both classes in y to weight them; found counts {counts.tolist()}."
        )
    return {c: float(len(y) / (2 * counts[c])) for c in (0, 1)}


def train(
    model: Any, split: Split, *, epochs: int = 10, batch_size: int = 256,
    class_weight: str | Mapping[int, float] | None = None, seed: int = 0,
) -> Any:
    """Fit ``model`` on a :class:`~course_lib.data.Split`, seeded and silent; returns the History.

    ``class_weight="balanced"`` weights the rare class up (see :func:`class_weights`).

    >>> model = build_fraud_model(fraud.train.x)
    >>> history = train(model, fraud.train, epochs=5, class_weight="balanced")
    >>> len(history.history["loss"])
    5
    """
    x = _checks.features(split.x, "split.x")
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise InvalidInputError(
                f"expected class_weight to be None, 'balanced' or a dict; found {class_weight!r}."
            )
        class_weight = class_weights(split.y)
    set_seed(seed)
    return model.fit(
        x, split.y.astype(np.float32), epochs=epochs, batch_size=batch_size,
        class_weight=dict(class_weight) if class_weight else None, shuffle=True, verbose=0,
    )


def fraud_model(dataset: Dataset, *, epochs: int = 10, seed: int = 0, **build: Any) -> Any:
    """The lessons' standard fraud model: scaling inside, trained with balanced class weights.

    >>> model = fraud_model(fraud, epochs=1)
    >>> model.name
    'fraud_model'
    """
    model = build_fraud_model(dataset.train.x, seed=seed, **build)
    train(model, dataset.train, epochs=epochs, class_weight="balanced", seed=seed)
    return model


def predict_scores(model: Any, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The model's scores (probability of the positive class) as a 1-D float array.

    >>> predict_scores(model, fraud.test.x)[:3].round(2)
    array([0.13, 0.56, 0.06], dtype=float32)

    Direct calls in batches (``model(batch, training=False)``): unlike ``model.predict``,
    no ``tf.function`` is traced again for each new model, and a call on a few rows
    takes a millisecond rather than tens.
    """
    arr = _checks.features(x, "x")
    parts = [np.asarray(model(arr[i:i + batch_size], training=False))
             for i in range(0, len(arr), batch_size)]
    out = np.concatenate(parts)
    return out.reshape(out.shape[0], -1)[:, -1]


def prediction_gap(reference: Any, others: Mapping[str, Any], x: np.ndarray) -> dict[str, float]:
    """Largest absolute difference between each model's scores and the reference model's.

    >>> from course_lib import persistence
    >>> reloaded = persistence.load("fraud.keras").raw   # the keras.Model saved in fraud.keras
    >>> prediction_gap(model, {"reloaded": reloaded}, fraud.test.x)
    {'reloaded': 0.0}
    """
    base = predict_scores(reference, x)
    return {name: float(np.max(np.abs(predict_scores(m, x) - base))) for name, m in others.items()}


#: The largest lead of training over validation read as normal: 5 points, the course's
#: "a drop of more than 5 points is bad" applied to data the model has not seen.
OVERFITTING_GAP = 0.05


@dataclass(frozen=True, repr=False)
class OverfittingVerdict(_display.Report):
    """One model's figures on its training, validation and test rows, and the overfitting verdict.

    Overfitting: the model does much better on the rows it was trained on than on rows
    it never saw. The rule: ``metric`` on training may lead validation by ``max_gap`` at most.

    >>> a = Metrics.from_counts(tp=15, fp=6, fn=0, tn=1479)
    >>> b = Metrics.from_counts(tp=15, fp=28, fn=39, tn=3918)
    >>> v = OverfittingVerdict((("training", a), ("validation", b), ("test", b)))
    >>> v.ok, round(v.gap, 3)
    (False, 0.524)
    """

    splits: tuple[tuple[str, Metrics], ...]
    metric: str = "f1"
    max_gap: float = OVERFITTING_GAP

    def get(self, split: str) -> Metrics:
        """The metrics of one split (``training``, ``validation`` or ``test``)."""
        for name, m in self.splits:
            if name == split:
                return m
        raise InvalidInputError(
            f"expected one of {[n for n, _ in self.splits]}; found {split!r}.")

    @property
    def gap(self) -> float:
        """``metric`` on training minus on validation (positive: training does better)."""
        return self.get("training").get(self.metric) - self.get("validation").get(self.metric)

    @property
    def ok(self) -> bool:
        """True when training leads validation by no more than ``max_gap``."""
        return self.gap <= self.max_gap + 1e-12

    @property
    def verdict(self) -> str:
        train, val = self.get("training").get(self.metric), self.get("validation").get(self.metric)
        said = (f"{self.metric} {train:.3f} on training, {val:.3f} on validation "
                f"(gap {self.gap:+.3f}")
        if self.ok:
            return f"no sign of overfitting: {said}, allowed {self.max_gap:g})"
        return (f"OVERFITTING: {said}, more than {self.max_gap:g}): the model learned its "
                "training rows rather than what generalises to new ones")

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One row per split: rows, loss (when the model has one) and the four metrics."""
        names = list(self.splits[0][1].names)
        rows = [[name, f"{m.total:,}", *(f"{m.get(n):.3f}" for n in names)]
                for name, m in self.splits]
        train, val = self.get("training"), self.get("validation")
        rows.append(["training - validation", "",
                     *(f"{train.get(n) - val.get(n):+.3f}" for n in names)])
        return ["rows", "examples", *names], rows


def overfitting_check(
    model: Any, dataset: Dataset, *, train: Split | None = None, metric: str = "f1",
    max_gap: float = OVERFITTING_GAP, threshold: float = 0.5,
) -> OverfittingVerdict:
    """Measure ``model`` on the training, validation and test rows; judge training against validation.

    ``train`` is the split the model was trained on (``dataset.train`` unless given). The
    loss of each split is the model's own compiled loss (``model.evaluate``; none if the
    model was not compiled); the metrics
    come from :class:`~course_lib.metrics.Metrics` at ``threshold``. ``metric`` (F1 unless
    given: with rare positives accuracy hardly moves) is the one the verdict reads.

    >>> check = overfitting_check(model, fraud)
    >>> [name for name, _ in check.splits], check.ok
    (['training', 'validation', 'test'], True)
    """
    if metric not in METRIC_NAMES:
        raise InvalidInputError(
            f"expected metric to be one of {', '.join(METRIC_NAMES)}; found {metric!r}.")
    gap = _checks.number("max_gap", max_gap, minimum=0, example=OVERFITTING_GAP)
    splits = {"training": dataset.train if train is None else train,
              "validation": dataset.val, "test": dataset.test}
    measured = []
    for name, split in splits.items():
        loss = None
        if getattr(model, "compiled", False):
            # Keras's own loss (from the logits of a sigmoid: exact even for saturated scores).
            # Its batches of 32 matter: a new model's evaluate traces a tf.function on its first
            # batch and its last, and with many calls between them, checking model after model
            # never sets off TensorFlow's "triggered tf.function retracing" warning (one big
            # batch per split does: five traces in ten calls).
            loss = float(model.evaluate(_checks.features(split.x, f"the {name} rows"),
                                        split.y.astype(np.float32), batch_size=32,
                                        return_dict=True, verbose=0)["loss"])
        m = Metrics.from_predictions(split.y, predict_scores(model, split.x), threshold,
                                     task="binary", loss=loss)
        measured.append((name, m))
    return OverfittingVerdict(tuple(measured), metric=metric, max_gap=gap)  # type: ignore[arg-type]
