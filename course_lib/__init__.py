"""course_lib: the helper library of the TensorFlow model-persistence course.

>>> import course_lib
>>> m = course_lib.Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)
>>> round(m.precision, 3), round(m.recall, 3), round(m.f1, 3), m.accuracy
(0.857, 0.9, 0.878, 0.875)

Importing this package is cheap: it never imports TensorFlow, matplotlib or
ipywidgets. Modules that need them (``models``, ``plots``, ``widgets``) import
them when you use them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from course_lib.errors import (
    CourseLibError,
    DataIntegrityError,
    InvalidInputError,
    MissingDependencyError,
    UnknownQuestionError,
)
from course_lib.exercises import Feedback, answer, check, grade, question, questions
from course_lib.metrics import Comparison, Metrics, compare

__all__ = [
    "Comparison",
    "CourseLibError",
    "DataIntegrityError",
    "Feedback",
    "InvalidInputError",
    "Metrics",
    "MissingDependencyError",
    "UnknownQuestionError",
    "__version__",
    "answer",
    "check",
    "compare",
    "grade",
    "question",
    "questions",
]
