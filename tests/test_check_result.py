"""Tests of course_lib.instructor.check_result: what one doctor check reports."""

from __future__ import annotations

import pytest

from course_lib.instructor import CheckResult


class TestCheckResult:
    def test_ok_check_shows_no_fix(self):
        assert str(CheckResult("node", True, "v20.1.0", "install node")) == "ok    node: v20.1.0"

    def test_failing_required_check_shows_fail_and_fix(self):
        text = str(CheckResult("node", False, "missing", "install node"))
        assert text == "FAIL  node: missing\n      fix: install node"

    def test_failing_optional_check_only_warns(self):
        assert CheckResult("nbval", False, "missing", required=False).label == "warn"

    def test_is_a_report_with_a_verdict_and_html(self):
        c = CheckResult("node", False, "missing", "install <node>")
        assert c.verdict == "FAIL  node: missing" and repr(c) == str(c)
        page = c._repr_html_()
        assert "FAIL  node: missing" in page and "install &lt;node&gt;" in page and "#b42318" in page

    def test_an_optional_failure_is_grey_in_html(self):
        page = CheckResult("nbval", False, "missing", "pip install nbval", required=False)._repr_html_()
        assert "#57606a" in page and "#b42318" not in page

    def test_is_frozen_and_compares_by_value(self):
        c = CheckResult("python", True, "3.11.7")
        assert c == CheckResult("python", True, "3.11.7") and c.ok
        with pytest.raises(AttributeError):
            c.ok = False  # type: ignore[misc]
