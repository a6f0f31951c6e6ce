"""Tests of course_lib._display: one format per quantity, and the report base."""

from __future__ import annotations

from dataclasses import dataclass

from course_lib import _display


class TestFormats:
    def test_size_below_a_kilobyte_in_bytes(self):
        assert _display.size(1023) == "1023 bytes"

    def test_size_in_kilobytes(self):
        assert _display.size(143_600) == "140.2 KB"

    def test_size_in_megabytes(self):
        assert _display.size(5 * 1024 * 1024) == "5.00 MB"

    def test_duration_in_microseconds(self):
        assert _display.duration(0.000266) == "266 µs"

    def test_duration_in_milliseconds(self):
        assert _display.duration(0.0439) == "43.90 ms"

    def test_duration_in_seconds(self):
        assert _display.duration(3.0) == "3.00 s"

    def test_milliseconds_not_measured(self):
        assert _display.milliseconds(None) == "not measured"

    def test_plural_of_one(self):
        assert _display.plural(1, "version") == "1 version"

    def test_plural_with_thousands(self):
        assert _display.plural(1000, "version") == "1,000 versions"


class TestTables:
    def test_numbers_right_text_left(self):
        text = _display.text_table(["model", "size"], [["a", "1.0 KB"], ["bb", "10.0 KB"]])
        assert text.splitlines() == ["model     size", "a       1.0 KB", "bb     10.0 KB"]

    def test_html_escapes_cells(self):
        assert "&lt;b&gt;" in _display.html_table(["x"], [["<b>"]])

    def test_html_keeps_markup_when_asked(self):
        assert "<b>NO</b>" in _display.html_table(["x"], [["<b>NO</b>"]], escape=False)

    def test_verdict_colours(self):
        assert _display.RED in _display.verdict_html("NOT OK", False)


@dataclass(frozen=True, repr=False)
class _Example(_display.Report):
    passed: bool
    title: str = "example"

    @property
    def ok(self) -> bool:
        return self.passed

    @property
    def verdict(self) -> str:
        return "OK" if self.ok else "NOT OK: 1 failed"

    def table(self):
        return ["check", "result"], [["size", "ok" if self.ok else "FAIL"]]

    def plot(self, ax=None):
        ax = self._axes(ax)
        ax.bar([0], [1.0])
        return self


class TestReport:
    def test_text_is_title_table_verdict(self):
        assert str(_Example(False)).splitlines() == ["example", "check  result", "size   FAIL",
                                                     "NOT OK: 1 failed"]

    def test_repr_is_the_text(self):
        assert repr(_Example(True)) == str(_Example(True))

    def test_html_holds_table_and_verdict(self):
        page = _Example(True)._repr_html_()
        assert "<table" in page and "OK</p>" in page and _display.GREEN in page

    def test_plot_draws_into_given_axes_and_returns_the_report(self):
        from course_lib.plots import new_figure

        ax = new_figure(3, 2).add_subplot()
        report = _Example(True)
        assert report.plot(ax) is report and report.ax_ is ax and len(ax.patches) == 1

    def test_plot_without_axes_makes_a_figure(self):
        report = _Example(True).plot()
        assert report.figure_.axes == [report.ax_]
