"""The lesson datasets: seeded, offline, the same train/validation/test split every run.

>>> from course_lib import data
>>> fraud = data.load_fraud()
>>> fraud.train.x.shape[1] == len(fraud.feature_names)
True
>>> round(float(fraud.test.y.mean()), 3) < 0.02          # fraud is rare
True

Two datasets:

* ``load_fraud()``: synthetic card transactions made by :func:`generate_fraud`
  with a fixed seed and stored as a snapshot (``fraud_transactions.csv.gz``)
  whose SHA-256 the loader checks. Fraud is rare (about 1.3% of rows) and the
  features carry a real but imperfect signal.
* ``load_breast_cancer()``: the Wisconsin diagnostic breast-cancer data that
  ships with scikit-learn (569 real clinical cases). Label 1 = malignant, the
  case where a missed positive (low recall) is the costly mistake.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _inputs
from course_lib.errors import DataIntegrityError, InvalidInputError

__all__ = [
    "FRAUD_FEATURES",
    "FRAUD_SHA256",
    "Dataset",
    "Split",
    "generate_fraud",
    "ideal_fraud_scores",
    "load_breast_cancer",
    "load_fraud",
    "write_fraud_snapshot",
]

FRAUD_FILE = "fraud_transactions.csv.gz"
#: SHA-256 of the shipped snapshot; ``load_fraud`` refuses a file that differs.
FRAUD_SHA256 = "4769e80081c4330a4bbb79cb7e0d3da307469ae1b4785d113e97ad6bb2432dcc"
FRAUD_SEED = 20261123
FRAUD_ROWS = 20_000

FRAUD_FEATURES: tuple[str, ...] = (
    "amount",            # transaction amount, in euros
    "hour",              # hour of the day, 0-23
    "distance_km",       # distance from the card holder's home
    "merchant_risk",     # share of past disputes at this merchant, 0-1
    "tx_last_24h",       # transactions on this card in the previous 24 hours
    "foreign",           # 1 if the merchant is abroad
    "card_present",      # 1 if the card was physically present (chip/contactless)
    "account_age_days",  # age of the account
)
_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` and labels (or targets) ``y`` of one split, checked when built.

    ``x`` is what the model takes: rows x features, images (n, height, width, channels),
    or a dict (or list) of arrays for a model with several inputs. ``y`` has one label or
    target per row of ``x``.

    >>> Split(np.zeros((3, 8, 8, 1)), np.array([0, 4, 9])).shape
    '3 rows; shape (3, 8, 8, 1) float64'
    >>> Split(np.zeros((3, 2)), np.array([0, 1]))
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected one label per row of x; found 3 rows in x and 2 labels in y. Fix: take x and y from the same examples (the same rows, in the same order).
    """

    x: Any
    y: np.ndarray

    def __post_init__(self) -> None:
        x = _inputs.read(self.x)
        rows = _inputs.n_rows(x)
        y = _labels(self.y)
        if rows == 0:
            raise InvalidInputError(
                "expected at least one row in x; found none. Fix: check the filter that "
                "built this split.")
        if y.shape[0] != rows:
            raise InvalidInputError(
                f"expected one label per row of x; found {rows:,} rows in x and "
                f"{y.shape[0]:,} labels in y. Fix: take x and y from the same examples "
                "(the same rows, in the same order).")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def shape(self) -> str:
        """Rows, and each input's shape and dtype, in one line."""
        return _inputs.describe(self.x)

    @property
    def positives(self) -> int:
        """Number of positive (label 1) rows (for 0/1 labels)."""
        return int((self.y == 1).sum())


def _labels(y: object) -> np.ndarray:
    """``y`` as an array of one label or target per row: numbers (finite) or text."""
    if isinstance(y, dict) or _inputs.is_structured(y):
        raise InvalidInputError(
            f"expected y as one array of labels or targets; found {type(y).__name__} of arrays. "
            "Fix: pass the labels of a single output.")
    arr = _inputs.read(y)
    assert isinstance(arr, np.ndarray)  # a dict or list of arrays was refused above
    if arr.shape[0] == 0:
        raise InvalidInputError("expected at least one label in y; found none.")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidInputError(
            f"expected finite labels in y; found {int((~np.isfinite(arr)).sum())} NaN or "
            "infinite value(s). Fix: drop the rows without a label.")
    return arr


@dataclass(frozen=True)
class Dataset:
    """A dataset with fixed train, validation and test splits.

    >>> ds = load_breast_cancer()
    >>> len(ds.train) + len(ds.val) + len(ds.test)
    569
    """

    name: str
    feature_names: tuple[str, ...]
    positive_label: str
    negative_label: str
    train: Split
    val: Split
    test: Split
    source: str

    def __post_init__(self) -> None:
        for split in _SPLITS:
            part = getattr(self, split)
            if not isinstance(part, Split):
                raise InvalidInputError(
                    f"expected {split} to be a data.Split(x, y); found {type(part).__name__}. "
                    f"Fix: {split}=data.Split(x_{split}, y_{split}).")
            x = part.x
            if isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] != len(self.feature_names):
                raise InvalidInputError(
                    f"expected one feature name per column of {split}.x; found "
                    f"{len(self.feature_names)} names and {x.shape[1]} columns. Fix: pass "
                    "feature_names in the order of the columns.")

    def splits(self) -> dict[str, Split]:
        """The three splits by name."""
        return {"train": self.train, "val": self.val, "test": self.test}

    def summary_rows(self) -> list[tuple[str, int, int, float]]:
        """(split, rows, positives, positive rate) for each split."""
        return [(k, len(s), s.positives, s.positives / len(s)) for k, s in self.splits().items()]

    def __str__(self) -> str:
        lines = [f"{self.name}: {len(self.feature_names)} features, positive = {self.positive_label}",
                 f"{'split':<6} {'rows':>7} {self.positive_label:>10} {'rate':>7}"]
        lines += [f"{k:<6} {n:>7} {p:>10} {r:>7.2%}" for k, n, p, r in self.summary_rows()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cell = 'style="padding:2px 10px;text-align:right"'
        rows = "".join(
            f"<tr><th {cell}>{k}</th><td {cell}>{n:,}</td><td {cell}>{p:,}</td><td {cell}>{r:.2%}</td></tr>"
            for k, n, p, r in self.summary_rows()
        )
        return (f"<p><b>{html.escape(self.name)}</b>: {len(self.feature_names)} features, "
                f"positive = {html.escape(self.positive_label)}</p>"
                f'<table style="border-collapse:collapse"><tr><th {cell}>split</th><th {cell}>rows</th>'
                f"<th {cell}>{html.escape(self.positive_label)}</th><th {cell}>rate</th></tr>{rows}</table>")


# -- the fraud generator -------------------------------------------------------------------

#: Share of fraud among the generated transactions.
FRAUD_RATE = 0.013
#: How each feature is drawn, as (fraud, legitimate) parameters: lognormal (mean, sigma) of
#: the log, the chance of a night-time hour (0-5) or of a 1 flag, beta (a, b), Poisson mean,
#: gamma (shape, scale). The generator draws from them; ideal_fraud_scores reads them back.
FRAUD_LAW: dict[str, tuple[Any, Any]] = {
    "amount": ((4.3, 1.0), (3.6, 0.9)),
    "night": (0.70, 0.04),
    "distance_km": ((3.5, 1.2), (2.0, 1.1)),
    "merchant_risk": ((5.0, 5.0), (1.5, 12.0)),
    "tx_last_24h": ((7.0,), (2.5,)),
    "foreign": (0.60, 0.03),
    "card_present": (0.10, 0.80),
    "account_age_days": ((2.0, 300.0), (2.5, 400.0)),
}


def generate_fraud(n_rows: int = FRAUD_ROWS, seed: int = FRAUD_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate card transactions: features, 0/1 fraud labels and split names.

    Labels are drawn first (about 1.3% fraud); each feature is then drawn from a
    distribution that differs between fraud and legitimate transactions but
    overlaps with it, so the signal is real and imperfect. The split (60% train,
    20% validation, 20% test) is stratified and seeded.

    >>> x, y, split = generate_fraud(n_rows=1000, seed=1)
    >>> x.shape, sorted(set(split.tolist()))
    ((1000, 8), ['test', 'train', 'val'])
    """
    rng = np.random.default_rng(seed)
    y = (rng.random(n_rows) < FRAUD_RATE).astype(np.int64)
    f = y == 1
    n = n_rows
    law = FRAUD_LAW

    def pick(draw: Any, key: str) -> np.ndarray:
        fraud, legit = law[key]
        return np.where(f, draw(*fraud, n), draw(*legit, n))

    def chance(key: str) -> np.ndarray:
        return rng.random(n) < np.where(f, *law[key])

    # Fraudsters go for larger amounts, at night, far from home, at risky
    # merchants, in bursts, abroad, card not present, on younger accounts;
    # but only more often, not always.
    amount = pick(rng.lognormal, "amount")
    night = chance("night")
    hour = np.where(night, rng.integers(0, 6, n), rng.integers(6, 24, n))
    distance = pick(rng.lognormal, "distance_km")
    merchant_risk = pick(rng.beta, "merchant_risk")
    tx_24h = pick(rng.poisson, "tx_last_24h")
    foreign = chance("foreign")
    card_present = chance("card_present")
    account_age = pick(rng.gamma, "account_age_days")

    x = np.column_stack([
        np.round(amount, 2), hour, np.round(distance, 1), np.round(merchant_risk, 3),
        tx_24h, foreign, card_present, np.round(account_age),
    ]).astype(np.float64)

    split = np.empty(n, dtype=object)
    for label in (0, 1):  # stratified: the same fraud rate in every split
        idx = rng.permutation(np.flatnonzero(y == label))
        a, b = int(len(idx) * 0.6), int(len(idx) * 0.8)
        split[idx[:a]], split[idx[a:b]], split[idx[b:]] = "train", "val", "test"
    return x, y, split.astype(str)


def ideal_fraud_scores(x: np.ndarray) -> np.ndarray:
    """The chance of fraud of each transaction, computed from the distributions that made it.

    The best scores any model of these features can give: a model trained on the rows only
    estimates what this function knows (:data:`FRAUD_LAW`), so no threshold on a trained
    model's scores does better on average than the same threshold rule on these. Stored
    values are rounded (amounts to the cent, distances to 0.1 km), which this ignores.

    >>> test = load_fraud().test
    >>> scores = ideal_fraud_scores(test.x)
    >>> bool(scores[test.y == 1].mean() > 10 * scores[test.y == 0].mean())
    True
    """
    from scipy import stats

    a = _inputs_array(x)
    cols = dict(zip(FRAUD_FEATURES, a.T))
    law = FRAUD_LAW

    def ratio(logpdf: Any, key: str, value: np.ndarray) -> np.ndarray:
        fraud, legit = law[key]
        return logpdf(value, *fraud) - logpdf(value, *legit)

    def lognormal(v: np.ndarray, mean: float, sigma: float) -> np.ndarray:
        return stats.lognorm.logpdf(np.maximum(v, 0.05), sigma, scale=np.exp(mean))

    def flag(key: str, on: np.ndarray) -> np.ndarray:
        p, q = law[key]
        return np.where(on, np.log(p / q), np.log((1 - p) / (1 - q)))

    log_odds = np.log(FRAUD_RATE / (1 - FRAUD_RATE))
    log_odds = log_odds + ratio(lognormal, "amount", cols["amount"])
    log_odds += flag("night", cols["hour"] < 6)  # the hour within night or day is uniform
    log_odds += ratio(lognormal, "distance_km", cols["distance_km"])
    log_odds += ratio(stats.beta.logpdf, "merchant_risk",
                      np.clip(cols["merchant_risk"], 1e-4, 1 - 1e-4))
    log_odds += ratio(stats.poisson.logpmf, "tx_last_24h", cols["tx_last_24h"])
    log_odds += flag("foreign", cols["foreign"] == 1) + flag("card_present", cols["card_present"] == 1)
    log_odds += ratio(lambda v, k, theta: stats.gamma.logpdf(v, k, scale=theta),
                      "account_age_days", np.maximum(cols["account_age_days"], 0.5))
    return 1.0 / (1.0 + np.exp(-log_odds))


def _inputs_array(x: object) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != len(FRAUD_FEATURES):
        raise InvalidInputError(
            f"expected the fraud features as rows of {len(FRAUD_FEATURES)} columns "
            f"({', '.join(FRAUD_FEATURES)}); found an array of shape {a.shape}. "
            "Fix: pass fraud.test.x (or another split's x)."
        )
    return a


def _fraud_csv_bytes(x: np.ndarray, y: np.ndarray, split: np.ndarray) -> bytes:
    out = io.StringIO()
    out.write(",".join(FRAUD_FEATURES + ("is_fraud", "split")) + "\n")
    for row, label, s in zip(x, y, split):
        out.write(",".join(f"{v:g}" for v in row) + f",{label},{s}\n")
    return out.getvalue().encode()


def write_fraud_snapshot(path: str | Path, n_rows: int = FRAUD_ROWS, seed: int = FRAUD_SEED) -> str:
    """Write the snapshot (gzip with a fixed header, so byte-identical) and return its SHA-256.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "f.csv.gz")
    >>> len(write_fraud_snapshot(p, n_rows=200))
    64
    """
    payload = gzip.compress(_fraud_csv_bytes(*generate_fraud(n_rows, seed)), mtime=0)
    Path(path).write_bytes(payload)
    return hashlib.sha256(payload).hexdigest()


def _snapshot_path() -> Path:
    packaged = resources.files("course_lib") / "_data" / FRAUD_FILE
    if packaged.is_file():  # installed from a wheel
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / "data" / FRAUD_FILE
    if checkout.is_file():  # repository checkout or editable install
        return checkout
    raise DataIntegrityError(
        f"expected the fraud snapshot {FRAUD_FILE} inside the installed package or in the "
        f"repository's data/ folder; found neither ({packaged}, {checkout}). "
        "Fix: reinstall course-lib, or run `make data` in the repository."
    )


def _read_fraud(path: Path, expected_sha256: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    payload = path.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != expected_sha256:
        raise DataIntegrityError(
            f"expected {path} to have SHA-256 {expected_sha256}; found {digest}. "
            "The file was changed or truncated. Fix: restore it (git checkout data/) or "
            "regenerate it with `make data`."
        )
    text = gzip.decompress(payload).decode().splitlines()
    header = text[0].split(",")
    cols = list(zip(*(line.split(",") for line in text[1:])))
    x = np.array(cols[: len(FRAUD_FEATURES)], dtype=np.float32).T
    y = np.array(cols[header.index("is_fraud")], dtype=np.int64)
    return x, y, np.array(cols[header.index("split")])


def load_fraud() -> Dataset:
    """Load the card-transactions dataset (checksum verified), split 60/20/20.

    >>> load_fraud().feature_names[:2]
    ('amount', 'hour')
    """
    x, y, split = _read_fraud(_snapshot_path(), FRAUD_SHA256)
    parts = {s: Split(x=x[split == s], y=y[split == s]) for s in _SPLITS}
    return Dataset(
        name="card transactions (synthetic)", feature_names=FRAUD_FEATURES,
        positive_label="fraud", negative_label="legit", source=f"course_lib.data.generate_fraud(seed={FRAUD_SEED})",
        **parts,
    )


def load_breast_cancer(seed: int = 0) -> Dataset:
    """The Wisconsin breast-cancer data from scikit-learn, label 1 = malignant, split 60/20/20.

    >>> ds = load_breast_cancer()
    >>> ds.positive_label, ds.train.x.shape[1]
    ('malignant', 30)
    """
    from sklearn.datasets import load_breast_cancer as _load
    from sklearn.model_selection import train_test_split

    raw = _load()
    x = raw.data.astype(np.float32)
    y = (raw.target == 0).astype(np.int64)  # scikit-learn codes malignant as 0
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, stratify=y, random_state=seed)
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed)
    return Dataset(
        name="breast cancer (Wisconsin diagnostic)", feature_names=tuple(raw.feature_names),
        positive_label="malignant", negative_label="benign",
        train=Split(x_train, y_train), val=Split(x_val, y_val), test=Split(x_test, y_test),
        source="sklearn.datasets.load_breast_cancer",
    )
