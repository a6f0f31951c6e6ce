"""What one check of ``course-lib doctor`` found: :class:`CheckResult`.

>>> print(CheckResult("node", True, "v20.19.0 at /usr/bin/node"))
ok    node: v20.19.0 at /usr/bin/node
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from course_lib import _display

__all__ = ["CheckResult"]


# slots=True: the ``ok`` field's slot shadows the ``ok`` property of the Report base
# (a plain dataclass field could not be set through a read-only property).
@dataclass(frozen=True, repr=False, slots=True)
class CheckResult(_display.Report):
    """One environment check: what was looked at, whether it is fine, and the fix when not.

    >>> CheckResult("python", True, "3.11.7").ok
    True
    >>> print(CheckResult("nbval", False, "not installed", "pip install nbval", required=False))
    warn  nbval: not installed
          fix: pip install nbval

    A failing ``required`` check makes ``course-lib doctor`` exit 1; an optional one
    only warns.
    """

    name: str
    ok: bool = field()  # an explicit field: without it the base's property would be taken as the default
    detail: str = field()
    fix: str = ""
    required: bool = True

    @property
    def label(self) -> str:
        """``ok``, ``FAIL`` (required and failing) or ``warn`` (optional and failing)."""
        return "ok" if self.ok else ("FAIL" if self.required else "warn")

    @property
    def verdict(self) -> str:
        """One line: the label, the check's name and what it found."""
        return f"{self.label:<5} {self.name}: {self.detail}"

    def __str__(self) -> str:
        return self.verdict + (f"\n      fix: {self.fix}" if not self.ok and self.fix else "")

    def _repr_html_(self) -> str:
        shown = self.ok if self.ok or self.required else None  # an optional check only warns (grey)
        fix = f"<p><em>fix:</em> {html.escape(self.fix)}</p>" if not self.ok and self.fix else ""
        return _display.verdict_html(self.verdict, shown) + fix
