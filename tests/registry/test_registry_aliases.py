"""Tests of course_lib.registry.aliases: aliases, rollback, crashes while an alias moves."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from registry_helpers import (
    SEED_V2,
    assert_aliases_hold,
    dead_pid,
    fake_saved_model,
    leftovers,
    run_code,
    start_deleter,
    toy_set,
)

from course_lib import _fs
from course_lib.errors import CourseLibError
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


class TestRaceWithADeleter:
    def test_an_alias_never_points_at_a_version_deleted_meanwhile(self, reg, tmp_path):
        src = fake_saved_model(tmp_path / "bigger", size=300_000)  # verify takes a while
        reg.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1)
        deleter = start_deleter(reg.root, 3.0)
        moved = refused = 0
        try:
            end = time.monotonic() + 3.0
            while time.monotonic() < end:
                try:
                    v = reg.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2,
                                                latency_ms=1).version
                    reg.set_alias("fraud", "candidate", v)
                    reg.promote("fraud", v)
                    moved += 1
                except CourseLibError:
                    refused += 1  # deleted before the alias could point at it: refused, clearly
        finally:
            out, err = deleter.communicate(timeout=60)
        assert deleter.returncode == 0, err
        assert int(out.split()[0]) > 0 and moved + refused > 0
        assert_aliases_hold(reg)


class TestCraftedAliasFile:
    @pytest.mark.parametrize("text", ["[" * 200_000 + "]" * 200_000,
                                      '{"aliases": {"production": 1}' + "}" * 3])
    def test_a_deep_or_broken_file_is_a_clear_error(self, two, text):
        (two.root / "fraud" / "aliases.json").write_text(text)
        with pytest.raises(RegistryError, match="aliases.json to hold the aliases as JSON; it "
                                                "cannot be read"):
            two.aliases("fraud")

    @pytest.mark.parametrize(("data", "why"), [
        ({"aliases": [], "history": {}}, "aliases: expected an object"),
        ({"aliases": {"production": "2"}, "history": {}}, "expected a version number"),
        ({"aliases": {}, "history": {"production": 2}}, "expected a list of version numbers"),
        ({"aliases": {"../x": 1}, "history": {}}, "an alias outside the allow-list"),
        ({"history": {}}, "found nothing"),
    ])
    def test_wrong_types_are_named(self, two, data, why):
        (two.root / "fraud" / "aliases.json").write_text(json.dumps(data))
        with pytest.raises(RegistryError, match=why):
            two.promote("fraud", 1)

    def test_a_folder_in_its_place_is_refused(self, two):
        (two.root / "fraud" / "aliases.json").mkdir()
        with pytest.raises(RegistryError, match="aliases.json to be a regular file; it is a "
                                                "folder"):
            two.set_alias("fraud", "candidate", 1)

    def test_a_link_in_its_place_is_not_followed(self, two, tmp_path):
        outside = tmp_path / "outside.json"
        outside.write_text(json.dumps({"aliases": {"production": 2}, "history": {}}))
        (two.root / "fraud" / "aliases.json").symlink_to(outside)
        with pytest.raises(RegistryError, match="it is a symbolic link"):
            two.aliases("fraud")


class TestLeftoverAliasFiles:
    def test_a_killed_writers_temporary_file_is_removed_by_the_next_change(self, two):
        code = ("import sys; from course_lib.registry import ModelRegistry; "
                "ModelRegistry(sys.argv[1]).promote('fraud', 2)")
        done = run_code(code, str(two.root), crash_at="aliases-temp-written")
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert len(leftovers(two)) == 1 and leftovers(two)[0].endswith(".tmp")
        two.set_alias("fraud", "candidate", 1)
        assert leftovers(two) == []

    def test_one_of_a_live_process_is_kept(self, two):
        host = _fs.owner_tag().split("@")[1]
        mine = f".aliases.json.{os.getppid()}@{host}-00ff.tmp"  # the parent runs pytest: alive
        dead = f".aliases.json.{dead_pid()}@{host}-00ff.tmp"
        for n in (mine, dead):
            (two.root / "fraud" / n).write_text("{}")
        two.set_alias("fraud", "candidate", 1)
        assert leftovers(two) == [mine]
