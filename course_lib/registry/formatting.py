"""Small text and HTML helpers shared by the tables and reports (sizes, times, columns)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence


_GREEN, _RED, _GREY = "#1a7f37", "#b42318", "#57606a"
_CELL = 'style="padding:2px 10px;text-align:right"'
_LEFT = 'style="padding:2px 10px;text-align:left"'


def _kb(n: float) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MB"


def _ms(x: float | None) -> str:
    return "not measured" if x is None else f"{x:.2f} ms"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        all(_looks_numeric(r[i]) for r in cells[1:]) and len(cells) > 1 for i in range(len(headers))
    ]
    out = []
    for r in cells:
        out.append(
            "  ".join(
                c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)
            ).rstrip()
        )
    return "\n".join(out)


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[+-]?[\d,.]+( ?(KB|MB|ms|bytes|x))?|-|not measured", text))


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th {_CELL}>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'
