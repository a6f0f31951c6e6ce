"""How results are shown: sizes, durations, plurals, text and HTML tables, and the report base.

>>> from course_lib import _display
>>> _display.size(70_000), _display.duration(0.0123), _display.plural(3, "rule")
('68.4 KB', '12.30 ms', '3 rules')
>>> print(_display.text_table(["version", "size"], [[1, "68.4 KB"], [12, "1.2 MB"]]))
version     size
      1  68.4 KB
     12   1.2 MB

Every module formats through these functions, so one quantity reads the same everywhere
(and matches the rules in ``notebooks/sanitize.cfg``). Report objects derive from
:class:`Report`: they say ``ok``, list their ``failures`` and give one ``verdict`` line,
and get their text and HTML forms from one ``table()``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "GREEN", "GREY", "RED", "Report", "duration", "html_table", "markdown_table", "milliseconds",
    "percent",
    "plural", "size", "text_table", "verdict_html",
]
__all__ += ["ComparisonReport"]

GREEN, RED, GREY = "#1a7f37", "#b42318", "#57606a"
CELL = 'style="padding:2px 10px;text-align:right"'
#: Table cells that say something failed: shown in bold red in HTML.
FAILED_CELLS = frozenset({"NO", "FAIL", "FAILED", "DIFFERS", "INVALID", "NOT MET"})
LEFT = 'style="padding:2px 10px;text-align:left"'


def size(n_bytes: float) -> str:
    """A file size: bytes below 1 KB, KB with one decimal below 1 MB, then MB.

    Sizes are shown in KB rather than bytes because exports are not byte-reproducible
    (``fingerprint.pb`` moves by a few bytes between two exports of the same weights).

    >>> size(512), size(2048), size(3 * 1024 * 1024)
    ('512 bytes', '2.0 KB', '3.00 MB')
    """
    if n_bytes < 1024:
        return f"{int(n_bytes)} bytes"
    if n_bytes < 1024 * 1024:
        return f"{n_bytes / 1024:.1f} KB"
    return f"{n_bytes / 1024 / 1024:.2f} MB"


def duration(seconds: float) -> str:
    """A duration with a unit: µs below a millisecond, ms below a second, then s.

    >>> duration(0.000266), duration(0.0439), duration(2.5)
    ('266 µs', '43.90 ms', '2.50 s')
    """
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def milliseconds(ms: float | None) -> str:
    """A time already in milliseconds, or "not measured".

    >>> milliseconds(1.234), milliseconds(None)
    ('1.23 ms', 'not measured')
    """
    return "not measured" if ms is None else f"{ms:.2f} ms"


def percent(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage.

    >>> percent(0.1304)
    '13.0%'
    """
    return f"{fraction * 100:.{digits}f}%"


def plural(n: int, word: str) -> str:
    """A count with its noun, in the plural unless it is one.

    >>> plural(1, "file"), plural(1200, "file")
    ('1 file', '1,200 files')
    """
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(
        r"[+-]?[\d,.]+(e[+-]?\d+)?( ?(%|KB|MB|bytes|ms|µs|s|x|×))?|-|—|not measured", text))


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned.

    >>> print(text_table(["metric", "value"], [["recall", "0.930"]]))
    metric  value
    recall  0.930
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [len(cells) > 1 and all(_looks_numeric(r[i]) for r in cells[1:])
               for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.rjust(w) if num else c.ljust(w)
                  for c, w, num in zip(r, widths, numeric)).rstrip()
        for r in cells
    )


def html_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *,
               escape: bool = True) -> str:
    """An HTML table; cells are escaped unless ``escape=False`` (cells already HTML).

    >>> html_table(["a"], [["<1>"]])
    '<table style="border-collapse:collapse"><tr><th style="padding:2px 10px;text-align:right">a</th></tr><tr><td style="padding:2px 10px;text-align:right">&lt;1&gt;</td></tr></table>'
    """
    show = (lambda c: html.escape(str(c))) if escape else str
    head = "".join(f"<th {CELL}>{show(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f'<td {CELL}><b style="color:{RED}">{show(c)}</b></td>' if str(c) in FAILED_CELLS
        else f"<td {CELL}>{show(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown (GitHub) table; ``|`` in a cell is escaped, a line break becomes a space.

    >>> print(markdown_table(["gate", "result"], [["a|b", "PASS"]]))
    | gate | result |
    | --- | --- |
    | a\\|b | PASS |
    """
    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *(line(r) for r in rows)])


def verdict_html(text: str, ok: bool | None) -> str:
    """A verdict line in bold: green when ok, red when not, grey when undecided.

    >>> verdict_html("OK", True)
    '<p style="color:#1a7f37;font-weight:bold">OK</p>'
    """
    color = GREY if ok is None else GREEN if ok else RED
    return f'<p style="color:{color};font-weight:bold">{html.escape(text)}</p>'


class Report:
    """The base of report objects: ``ok``, ``failures``, one ``verdict`` line, text and HTML.

    A subclass defines ``verdict`` and ``failures`` (then ``ok`` is "none failed") or
    ``ok``, and, where it has rows to show,
    ``table()`` returning ``(headers, rows)``; ``title`` is an optional first line.
    Its text form (``str``/``repr``) is the title, the table and the verdict; its HTML form
    is the same in a notebook. Dataclass subclasses pass ``repr=False`` so these are kept.
    A report with a figure has ``plot(self, ax=None)``: ``ax = self._axes(ax)``, draw, then
    ``return self``; the figure is ``report.figure_`` (in a lesson, ``report.plot().figure_``
    shows it).

    >>> class Check(Report):
    ...     ok, verdict = True, "OK: 2 of 2 passed"
    ...     def table(self):
    ...         return ["check", "result"], [["size", "ok"], ["recall", "ok"]]
    >>> print(Check())
    check   result
    size    ok
    recall  ok
    OK: 2 of 2 passed
    """

    title: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing failed: a subclass defines ``failures``, or ``ok`` itself."""
        if type(self).failures is Report.failures:  # pragma: no cover (a subclass's mistake)
            raise NotImplementedError(f"{type(self).__name__} defines neither ok nor failures")
        return not self.failures

    @property
    def verdict(self) -> str:  # pragma: no cover (every subclass defines it)
        raise NotImplementedError

    @property
    def failures(self) -> tuple[Any, ...]:
        """What failed: empty when ``ok``; by default the verdict itself when not."""
        return () if self.ok else (self.verdict,)

    def table(self) -> tuple[Sequence[str], Sequence[Sequence[object]]] | None:
        """``(headers, rows)`` of the report's table, or None when it has none."""
        return None

    def __str__(self) -> str:
        parts = [self.title] if self.title else []
        table = self.table()
        if table is not None:
            parts.append(text_table(*table))
        parts.append(self.verdict)
        return "\n".join(parts)

    def __repr__(self) -> str:
        return str(self)

    def _axes(self, ax: Any = None, width: float = 6.0, height: float = 3.5) -> Any:
        """``ax``, or the axes of a new figure; kept as ``ax_`` and ``figure_``.

        Like scikit-learn's ``ConfusionMatrixDisplay``: ``plot(ax=None)`` draws into the
        given axes or a new figure, and returns the report itself.
        """
        if ax is None:
            from course_lib.plots import new_figure

            ax = new_figure(width, height).add_subplot()
        object.__setattr__(self, "ax_", ax)  # frozen dataclasses too
        object.__setattr__(self, "figure_", ax.figure)
        return ax

    def _repr_html_(self) -> str:
        parts = [f"<p><b>{html.escape(self.title)}</b></p>"] if self.title else []
        table = self.table()
        if table is not None:
            parts.append(html_table(*table))
        parts.append(verdict_html(self.verdict, self.ok))
        return "".join(parts)


class ComparisonReport(Report):
    """A report judged by its ``comparison`` (a :class:`course_lib.metrics.Comparison`).

    ``ok``, ``failures``, ``verdict`` and ``table()`` are the comparison's; the subclass
    has a ``comparison`` field and adds its own ``title`` (what was compared, sizes, times).

    >>> from course_lib.metrics import Metrics, compare
    >>> class Converted(ComparisonReport):
    ...     title = "float16 weights"
    ...     comparison = compare(Metrics.from_counts(tp=9, fp=1, fn=1, tn=9),
    ...                          Metrics.from_counts(tp=9, fp=1, fn=1, tn=9))
    >>> Converted().ok, Converted().verdict
    (True, 'OK: every metric within 0.01 of before')
    """

    comparison: Any

    @property
    def ok(self) -> bool:
        """Every metric within its tolerance."""
        return bool(self.comparison.ok)

    @property
    def failures(self) -> tuple[Any, ...]:
        """The metrics that moved more than their tolerance."""
        return tuple(self.comparison.failures)

    @property
    def verdict(self) -> str:
        """The comparison's verdict."""
        return str(self.comparison.verdict)

    def table(self) -> tuple[Sequence[str], Sequence[Sequence[object]]] | None:
        """Each metric before and after, its change, and whether it is within tolerance."""
        return self.comparison.table()
