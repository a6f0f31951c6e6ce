"""Checks of the stored lessons themselves (nbval re-runs them in `make test`)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return nbformat.read(request.param, as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def _calls(nb, name: str) -> list[ast.Call]:
    """Every call of ``name`` in the code cells (``!command`` lines read as IPython reads them)."""
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell
    return [node for c in _code_cells(nb) for node in ast.walk(ast.parse(python(c.source)))
            if isinstance(node, ast.Call) and ast.unparse(node.func) == name]


def _literal_kwargs(call: ast.Call) -> dict[str, object]:
    """The call's keyword arguments when every one is a literal, else {} (computed counts)."""
    try:
        return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    except ValueError:
        return {}


class TestStoredLessons:
    def test_there_is_a_lesson(self):
        assert NOTEBOOKS and NOTEBOOKS[0].name == "00_metrics_that_matter.ipynb"

    def test_every_code_cell_was_executed_in_order(self, notebook):
        counts = [c.execution_count for c in _code_cells(notebook)]
        assert counts == list(range(1, len(counts) + 1))

    def test_no_stored_error_or_stderr(self, notebook):
        outputs = [o for c in _code_cells(notebook) for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"]
        assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]

    def test_widget_state_is_saved(self, notebook):
        displayed = [o for c in _code_cells(notebook) for o in c.outputs
                     if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        if displayed:
            state = notebook.metadata["widgets"][WIDGET_STATE]["state"]
            for out in displayed:
                assert out.data["application/vnd.jupyter.widget-view+json"]["model_id"] in state

    def test_code_cells_are_short(self, notebook):
        assert max(len(c.source.splitlines()) for c in _code_cells(notebook)) <= 6

    def test_lesson_ends_with_exercises(self, notebook):
        headings = [c.source for c in notebook.cells if c.cell_type == "markdown"]
        assert any("## Exercises" in h for h in headings)
        assert any("## Recap" in h for h in headings)

    def test_every_exercise_is_stored_unanswered(self, notebook):
        calls = [m for c in _code_cells(notebook)
                 for m in re.findall(r"(?<![.\w])check\((.*?)\)\s*$", c.source, re.MULTILINE)]
        placeholder = re.compile(r'\s*"[^"]+"\s*,\s*\.\.\.\s*')
        assert [call for call in calls if not placeholder.fullmatch(call)] == []
        assert not [c.source for c in _code_cells(notebook)
                    if re.search(r"(?<![.\w])answer\(", c.source)]

    def test_no_calculator_starts_on_an_exercises_matrix(self, notebook):
        """A calculator opened on an exercise's counts would show its answer before it is worked."""
        from course_lib.exercises import Numeric, question, questions
        from course_lib.metrics import Metrics

        asked = [q for q in map(question, questions()) if isinstance(q, Numeric) and q.metric]
        starts = [_literal_kwargs(call) for call in _calls(notebook, "widgets.ConfusionMatrixCalculator")]
        assert starts or "ConfusionMatrixCalculator" not in "".join(c.source for c in _code_cells(notebook))
        shown = [(counts, q.id) for counts in starts if counts for q in asked
                 if all(abs(Metrics.from_counts(**counts).get(name) - value) <= q.tolerance
                        for name, value in ((q.metric, q.answer), *q.related))]
        assert shown == []

    def test_the_learner_reads_no_authoring_words(self, notebook):
        words = re.compile(r"\b[Ss]eeds?\b|[Ll]esson text|\bnbval\b|\bCI\b|benchmarks/")
        texts = [c.source for c in notebook.cells if c.cell_type == "markdown"]
        texts += [str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                  for c in _code_cells(notebook) for o in c.outputs]
        assert [words.search(t).group(0) for t in texts if words.search(t)] == []


def test_nbval_fails_when_a_stored_number_is_changed(tmp_path):
    """The validation bites: a tampered stored output makes nbval fail on that cell."""
    source = ROOT / "notebooks" / "00_metrics_that_matter.ipynb"
    nb = nbformat.read(source, as_version=4)
    target = next(c for c in _code_cells(nb) if "naive_test.describe(" in c.source)
    stream = target.outputs[0]
    assert "recall 13.0%" in stream.text
    stream.text = stream.text.replace("recall 13.0%", "recall 31.0%")
    nbformat.write(nb, tmp_path / source.name)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(ROOT / "notebooks" / "sanitize.cfg"), str(tmp_path / source.name)],
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 1
    assert "1 failed" in done.stdout and "recall 31.0%" in done.stdout
