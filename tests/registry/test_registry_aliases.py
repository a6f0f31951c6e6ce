"""Tests of course_lib.registry.aliases: aliases, rollback, crashes while an alias moves."""

from __future__ import annotations

import json
import signal

import pytest
from registry_helpers import run_code

from course_lib.registry import (
    IntegrityError,
    RegistryError,
    RollbackRefusedError,
    VersionNotFoundError,
    flip_byte,
)


class TestAliases:
    def test_set_and_remove(self, two):
        assert (
            str(two.set_alias("fraud", "candidate", 2))
            == "fraud: candidate moved from nothing to version 2"
        )
        two.remove_alias("fraud", "candidate")
        assert two.aliases("fraud") == {}

    def test_alias_file_is_replaced_whole(self, two):
        two.set_alias("fraud", "candidate", 2)
        names = {p.name for p in (two.root / "fraud").iterdir()}
        assert "aliases.json" in names and not [n for n in names if n.endswith(".tmp")]
        assert json.loads((two.root / "fraud" / "aliases.json").read_text())["aliases"] == {
            "candidate": 2
        }

    def test_set_alias_refuses_a_tampered_version(self, two):
        flip_byte(two.path("fraud", 1) / "fingerprint.pb")
        with pytest.raises(IntegrityError, match="fingerprint.pb"):
            two.set_alias("fraud", "candidate", 1)

    def test_corrupted_alias_file_gives_a_clear_error(self, two):
        (two.root / "fraud" / "aliases.json").write_text("{")
        with pytest.raises(RegistryError, match="aliases.json.*cannot be read"):
            two.aliases("fraud")


class TestRollback:
    def test_goes_back_to_the_previous_production(self, two):
        two.promote("fraud", 1)
        two.promote("fraud", 2)
        change = two.rollback("fraud")
        assert (change.old, change.new) == (2, 1) and two.aliases("fraud") == {"production": 1}

    def test_nothing_to_roll_back_to(self, two):
        two.promote("fraud", 1)
        with pytest.raises(RollbackRefusedError, match="no.* earlier production|there is none"):
            two.rollback("fraud")

    def test_refuses_a_tampered_target(self, two):
        two.promote("fraud", 1)
        two.promote("fraud", 2)
        flip_byte(two.path("fraud", 1) / "saved_model.pb")
        with pytest.raises(RollbackRefusedError, match="saved_model.pb: content changed"):
            two.rollback("fraud")
        assert two.aliases("fraud") == {"production": 2}


class TestCrashDuringAliasChange:
    @pytest.mark.parametrize(
        ("point", "expected"), [("aliases-temp-written", 1), ("aliases-replaced", 2)]
    )
    def test_alias_file_is_old_or_new_never_broken(self, two, point, expected):
        two.promote("fraud", 1)
        code = (
            "import sys; from course_lib.registry import ModelRegistry; "
            "ModelRegistry(sys.argv[1]).promote('fraud', 2)"
        )
        done = run_code(code, str(two.root), crash_at=point)
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert two.aliases("fraud") == {"production": expected}
        two.promote("fraud", 2)  # the lock died with the process
        assert two.aliases("fraud") == {"production": 2}


class TestAliasChange:
    def test_removing_an_unknown_alias_is_refused(self, two):
        with pytest.raises(VersionNotFoundError, match="'candidate' to be an alias"):
            two.remove_alias("fraud", "candidate")

    def test_text_html_and_verdict_agree(self, two):
        change = two.set_alias("fraud", "candidate", 1)
        assert change.ok and str(change) == repr(change) == change.verdict
        assert change.verdict in change._repr_html_()

    def test_history_is_kept_after_removing(self, two):
        two.set_alias("fraud", "candidate", 1)
        two.remove_alias("fraud", "candidate")
        history = json.loads((two.root / "fraud" / "aliases.json").read_text())["history"]
        assert history == {"candidate": [1]}


class TestModelNeverPublished:
    def test_rollback_names_the_missing_model(self, two):
        with pytest.raises(VersionNotFoundError,
                           match="model named 'never_published'.*nothing was ever published.*"
                                 r"\(models: fraud\)"):
            two.rollback("never_published")
        assert not (two.root / "never_published").exists()

    def test_remove_alias_names_the_missing_model(self, reg):
        with pytest.raises(VersionNotFoundError, match=r"model named 'fraud'.*\(models: none\)"):
            reg.remove_alias("fraud", "production")
