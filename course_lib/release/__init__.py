"""The release check: every gate of lessons 01 to 05 run on one candidate model.

>>> from course_lib.release import ReleasePolicy
>>> print(ReleasePolicy())
parity within 0.01 after saving and in a fresh process; TF.js (float32) within 0.02 and <= 100.0 KB; recall >= 0.80; p95 latency <= 50 ms for one row
>>> report = release_check(model, fraud, "work/release")
>>> report.ok, [g.name for g in report.failures]
(True, [])
>>> report.verdict
'fraud_model: READY: all 7 gates passed'

``model`` is any Keras model: a binary classifier, a multi-class model or a
regression, on rows x features, images, or several named inputs (a dict). ``data`` is
an ``(x, y)`` pair, a :class:`~course_lib.data.Split` or the course's
:class:`~course_lib.data.Dataset`. Gates, in order (each catches errors and reports
them as a failed gate with the message, so one broken step does not hide the others):

1. ``.keras round trip``: save, load, every metric within ``tolerance`` (lesson 01/02).
2. ``SavedModel round trip``: the same through ``model.export`` (lesson 02).
3. ``fresh process``: the ``.keras`` file loaded and run in a new interpreter,
   importing only ``policy.imports`` (lesson 01).
4. ``registry``: published as a new version with its manifest, and verified (lesson 04).
5. ``TF.js``: converted, run in the real TF.js runtime, within ``tfjs_tolerance``
   and the browser size budget (lesson 05).
6. the quality rule of the model's task on the evaluation rows (lesson 00): ``recall
   floor`` (``min_recall`` at ``threshold``) for a binary classifier, ``macro F1`` or
   ``accuracy`` floor for a multi-class model, ``RMSE`` or ``MAE`` ceiling for a regression.
7. ``latency``: p95 of one-row calls of the SavedModel signature (lesson 03).

Every before/after gate (1, 2, 3 and 5) also reports the prediction difference: the
largest absolute difference, and for a classifier the rows whose predicted class
changed. A gate that cannot apply (no quality rule set for the task, no labels) is
reported as skipped with the reason: never shown as passed.

The gates run in that order. What one gate makes for later ones is handed on
explicitly: the ``.keras`` file of the first goes to the fresh process, the
SavedModel export of the second to the registry, TF.js and latency gates.

The report renders as a table in a notebook and writes itself as Markdown or
JSON for a pull request (:meth:`ReleaseReport.write`).
"""

from course_lib.release.check import release_check
from course_lib.release.policy import RULES, GateResult, ReleasePolicy, ReleaseReport

__all__ = ["RULES", "GateResult", "ReleasePolicy", "ReleaseReport", "release_check"]
