"""Metrics of a regression: mean absolute error, root mean squared error, R², largest error.

>>> from course_lib.metrics import RegressionMetrics
>>> m = RegressionMetrics.from_predictions([3.0, 5.0, 2.5], [2.5, 5.0, 4.0])
>>> m.mae, round(m.rmse, 3), m.max_error
(0.6666666666666666, 0.913, 1.5)

Errors are in the target's own units (a price in euros, a dose in mg): a tolerance for
"did saving change anything" is therefore relative to the size of the error itself.
scikit-learn does the arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from course_lib.errors import InvalidInputError
from course_lib.metrics.tasks import regression_values

__all__ = ["REGRESSION_METRICS", "RegressionMetrics"]

#: The headline metrics of a regression, in display order.
REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "r2", "max_error")


@dataclass(frozen=True, repr=False)
class RegressionMetrics:
    """MAE, RMSE, R² and the largest absolute error of predictions against targets.

    >>> print(RegressionMetrics.from_predictions([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]).describe())
    MAE 0.333, RMSE 0.577, R² 0.500 on 3 rows; the largest error is 1 (row 2)
    """

    n: int
    mae: float
    rmse: float
    r2: float
    max_error: float
    worst_row: int

    task = "regression"
    names = REGRESSION_METRICS

    @classmethod
    def from_predictions(cls, y_true: object, y_pred: object) -> RegressionMetrics:
        """Metrics of predicted values against the true targets (one number per row)."""
        from sklearn import metrics as skm

        y = regression_values(y_true, "y_true")
        p = regression_values(y_pred, "the model's output", n=y.shape[0])
        errors = abs(p - y)
        r2 = float(skm.r2_score(y, p)) if y.shape[0] > 1 else 0.0
        return cls(n=int(y.shape[0]), mae=float(skm.mean_absolute_error(y, p)),
                   rmse=math.sqrt(float(skm.mean_squared_error(y, p))), r2=r2,
                   max_error=float(errors.max()), worst_row=int(errors.argmax()))

    @property
    def total(self) -> int:
        """Number of rows."""
        return self.n

    def get(self, name: str) -> float:
        """One metric by name (``mae``, ``rmse``, ``r2`` or ``max_error``)."""
        if name not in self.names:
            raise InvalidInputError(
                f"expected a metric name among {', '.join(self.names)}; found {name!r}.")
        return float(getattr(self, name))

    def as_dict(self) -> dict[str, object]:
        """The metrics as plain values (JSON, manifests)."""
        return {"task": self.task, "n": self.n, "worst_row": self.worst_row,
                **{k: self.get(k) for k in self.names}}

    def describe(self) -> str:
        """The metrics in plain words."""
        return (f"MAE {self.mae:.3g}, RMSE {self.rmse:.3g}, R² {self.r2:.3f} on {self.n:,} rows; "
                f"the largest error is {self.max_error:.3g} (row {self.worst_row})")

    def __str__(self) -> str:
        return "  ".join(f"{k} {self.get(k):.4g}" for k in self.names)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from course_lib import _display

        return _display.html_table(list(self.names), [[f"{self.get(k):.4g}" for k in self.names]])
