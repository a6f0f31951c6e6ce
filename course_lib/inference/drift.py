"""Do the inputs look like the training data? Column statistics, and batches checked against them.

>>> from course_lib.inference import FeatureProfile
>>> profile = FeatureProfile.from_data([[0.0, 10.0], [1.0, 20.0]] * 20, ["a", "b"])
>>> print(profile.check([[10.0, 0.0], [20.0, 1.0]] * 20).verdict)  # doctest: +NORMALIZE_WHITESPACE
NOT OK: a (looks like b), b (looks like a) differ from the training data;
swapped columns: check the column order

A saved model checks the *shape* of its input, not its *meaning*.
:class:`FeatureProfile` records the training features' statistics and
:meth:`FeatureProfile.check` flags a batch whose columns do not look like them
(swapped columns, a different unit or preprocessing): a
:class:`FeatureCheckResult` with one :class:`FeatureDrift` per column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from course_lib import _checks, _display, _inputs
from course_lib.errors import FeatureMismatchError, InvalidInputError

__all__ = ["FeatureCheckResult", "FeatureDrift", "FeatureProfile"]


@dataclass(frozen=True)
class FeatureDrift:
    """How one column of a batch compares with the same column in the training data.

    >>> p = FeatureProfile.from_data([[0.0], [2.0]] * 20, ["amount"])
    >>> drift = p.check([[2.0], [4.0]] * 20, max_outside=1.0).rows[0]
    >>> drift.name, drift.shift, drift.outside, drift.ok
    ('amount', 2.0, 0.5, False)

    ``shift`` is (batch mean - training mean) / training standard deviation;
    ``outside`` the share of the batch's values outside the training range.
    """

    name: str
    train_mean: float
    train_std: float
    mean: float
    shift: float
    outside: float
    looks_like: str | None
    ok: bool

    @property
    def result(self) -> str:
        """``ok``, or ``DIFFERS`` and the training column it looks like."""
        return "ok" if self.ok else "DIFFERS" + (f": looks like {self.looks_like}"
                                                 if self.looks_like else "")


@dataclass(frozen=True, repr=False)
class FeatureCheckResult(_display.Report):
    """Per-column comparison of a batch with the training data, and the verdict.

    >>> profile = FeatureProfile.from_data([[0.0, 10.0], [1.0, 20.0]] * 20, ["a", "b"])
    >>> result = profile.check([[10.0, 0.0], [20.0, 1.0]] * 20)
    >>> result.ok, [(d.name, d.looks_like) for d in result.problems]
    (False, [('a', 'b'), ('b', 'a')])
    """

    rows: tuple[FeatureDrift, ...]
    n_rows: int
    tolerance: float
    max_outside: float

    @property
    def failures(self) -> tuple[FeatureDrift, ...]:
        """The columns that do not look like their training counterparts (also ``problems``)."""
        return tuple(r for r in self.rows if not r.ok)

    problems = failures

    @property
    def ok(self) -> bool:
        """True when every column looks like its training counterpart."""
        return not self.failures

    @property
    def verdict(self) -> str:
        """One sentence: OK, or which columns differ and what they look like."""
        if self.ok:
            return (f"OK: every column's mean is within {self.tolerance:g} training standard "
                    f"deviations of its training mean, with at most {self.max_outside:.0%} of "
                    "values outside the training range")
        parts = [r.name + (f" (looks like {r.looks_like})" if r.looks_like else "")
                 for r in self.problems]
        swapped = any(r.looks_like for r in self.problems)
        hint = ("swapped columns: check the column order" if swapped
                else "check the units and the preprocessing")
        verb = "differs" if len(parts) == 1 else "differ"
        return f"NOT OK: {', '.join(parts)} {verb} from the training data; {hint}"

    def raise_if_not_ok(self) -> FeatureCheckResult:
        """Return self when the batch looks right, else raise :class:`FeatureMismatchError`.

        >>> p = FeatureProfile.from_data([[0.0], [1.0]] * 20)
        >>> p.check([[0.0], [1.0]] * 20).raise_if_not_ok().ok
        True
        """
        if not self.ok:
            raise FeatureMismatchError(
                f"expected features like the training data; {self.verdict}. Fix: build the rows "
                "exactly as in training (same columns, order, units and preprocessing)."
            )
        return self

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One row per column: training and batch means, shift, share outside, result."""
        rows = [[r.name, f"{r.train_mean:.4g}", f"{r.mean:.4g}", f"{r.shift:+.2f}",
                 _display.percent(r.outside), r.result] for r in self.rows]
        return ["feature", "train mean", "batch mean", "shift (train std)",
                "outside train range", "verdict"], rows

    def __repr__(self) -> str:
        names = [r.name for r in self.problems]
        return f"FeatureCheckResult(ok={self.ok}, n_rows={self.n_rows}, problems={names})"


@dataclass(frozen=True, eq=False)
class FeatureProfile:
    """Per-column statistics of the training features, to check batches against at inference.

    >>> profile = FeatureProfile.from_data([[1.0, 100.0], [3.0, 300.0]] * 20, ["a", "b"])
    >>> profile.names, profile.mean.tolist()
    (('a', 'b'), [2.0, 200.0])

    A model's input signature checks the *number* of columns; it cannot see two
    columns swapped or an amount sent in cents instead of euros. Their statistics can.
    """

    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_rows: int

    @classmethod
    def from_data(cls, x: object, names: Sequence[str] | None = None) -> FeatureProfile:
        """Record mean, standard deviation, minimum and maximum of each training column.

        >>> FeatureProfile.from_data([[0.0], [2.0]]).names
        ('feature_0',)
        """
        arr = _checks.features(_tabular(x, "from_data"), "the training features", dtype=np.float64)
        if names is None:
            names = [f"feature_{i}" for i in range(arr.shape[1])]
        names = tuple(str(n) for n in names)
        if len(names) != arr.shape[1] or len(set(names)) != len(names):
            raise InvalidInputError(
                f"expected one unique name per column ({arr.shape[1]}); found {len(names)} names "
                f"{list(names)[:8]}. Fix: pass e.g. fraud.feature_names."
            )
        return cls(names=names, mean=arr.mean(axis=0), std=arr.std(axis=0), low=arr.min(axis=0),
                   high=arr.max(axis=0), n_rows=int(arr.shape[0]))

    def check(self, x: object, *, tolerance: float = 0.5, max_outside: float = 0.01,
              min_rows: int = 30) -> FeatureCheckResult:
        """Compare a batch with the training data, column by column.

        >>> p = FeatureProfile.from_data([[0.0], [1.0]] * 20)
        >>> p.check([[100.0], [101.0]] * 20).verdict
        'NOT OK: feature_0 differs from the training data; check the units and the preprocessing'

        A column differs when its mean is more than ``tolerance`` training standard
        deviations from the training mean, or when more than ``max_outside`` of its
        values fall outside the training range. For a column that differs, the
        training column whose mean and spread it resembles most is named
        (``looks_like``) when it is another column: the mark of swapped columns.

        Statistics need a batch: at least ``min_rows`` rows (for single requests,
        collect the last few hundred and check them together). A wrong number of
        columns raises :class:`FeatureMismatchError`.
        """
        arr = _checks.features(_tabular(x, "check"), "the batch", shape=(None, len(self.names)),
                               dtype=np.float64,
                               error=FeatureMismatchError, columns=self.names)
        if not _checks.is_number(tolerance) or tolerance <= 0:
            raise InvalidInputError(f"expected tolerance to be a positive number of standard "
                                    f"deviations; found {tolerance!r}. Fix: tolerance=0.5.")
        if not _checks.is_number(max_outside) or not 0 <= max_outside <= 1:
            raise InvalidInputError(f"expected max_outside to be a fraction between 0 and 1; found "
                                    f"{max_outside!r}. Fix: max_outside=0.01.")
        min_rows = _checks.whole("min_rows", min_rows, 1)
        if arr.shape[0] < min_rows:
            raise InvalidInputError(
                f"expected at least {min_rows} rows to compare statistics; found {arr.shape[0]}. "
                "Fix: check a batch (e.g. the last few hundred requests), not single rows."
            )
        mean, std = arr.mean(axis=0), arr.std(axis=0)
        shift = _scaled(mean - self.mean, self.std)
        outside = ((arr < self.low) | (arr > self.high)).mean(axis=0)
        rows = []
        for i, name in enumerate(self.names):
            ok = abs(shift[i]) <= tolerance and outside[i] <= max_outside
            like = None if ok else self._resembles(mean[i], std[i], i, tolerance)
            rows.append(FeatureDrift(name, float(self.mean[i]), float(self.std[i]), float(mean[i]),
                                     float(shift[i]), float(outside[i]), like, bool(ok)))
        return FeatureCheckResult(rows=tuple(rows), n_rows=int(arr.shape[0]),
                                  tolerance=float(tolerance), max_outside=float(max_outside))

    def _resembles(self, mean: float, std: float, column: int, tolerance: float) -> str | None:
        """The other training column with this mean and spread, if one is close enough."""
        distance = (np.abs(_scaled(mean - self.mean, self.std))
                    + np.abs(np.log((std + 1e-12) / (self.std + 1e-12))))
        j = int(np.argmin(distance))
        return self.names[j] if j != column and distance[j] <= tolerance else None


def _tabular(x: object, method: str) -> object:
    """``x`` if it is one 2-D table of rows x columns; a clear refusal for images and dicts.

    >>> FeatureProfile.from_data({"mean": [[1.0]], "worst": [[2.0]]})
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected one 2-D table (rows x columns) for FeatureProfile.from_data; found 2 inputs 'mean', 'worst'. Fix: one profile per input, e.g. {name: FeatureProfile.from_data(x[name]) for name in x}.
    """
    if _inputs.is_structured(x):
        data = _inputs.read(x)
        names = list(data) if isinstance(data, dict) else [f"input {i}" for i in range(len(data))]
        fix = ("{name: FeatureProfile.from_data(x[name]) for name in x}" if isinstance(data, dict)
               else "[FeatureProfile.from_data(part) for part in x]")
        raise InvalidInputError(
            f"expected one 2-D table (rows x columns) for FeatureProfile.{method}; found "
            f"{len(names)} inputs {', '.join(map(repr, names))}. Fix: one profile per input, "
            f"e.g. {fix}.")
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.ndim > 2:
        raise InvalidInputError(
            f"expected one 2-D table (rows x columns) for FeatureProfile.{method}: it compares "
            f"each column's statistics; found shape {arr.shape} (images or sequences, whose "
            "values are not columns with a meaning of their own). Fix: profile per-row "
            "summaries instead, e.g. x.reshape(len(x), -1).mean(axis=1, keepdims=True) for "
            "brightness.")
    return x


def _scaled(diff: np.ndarray | float, std: np.ndarray) -> np.ndarray:
    """``diff / std``, with 0 for no difference and inf for a difference on a constant column."""
    diff = np.broadcast_to(np.asarray(diff, dtype=np.float64), std.shape)
    safe = np.where(std > 0, std, 1.0)
    return np.where(std > 0, diff / safe, np.where(diff == 0, 0.0, np.inf))
