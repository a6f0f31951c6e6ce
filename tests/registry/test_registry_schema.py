"""Tests of course_lib.registry.schema: the shape of a manifest and of aliases.json."""

from __future__ import annotations

import json

from course_lib.registry.schema import (
    MAX_DEPTH,
    aliases_problem,
    depth,
    manifest_problem,
    parse_json,
    parse_manifest,
    read_aliases_state,
)
from course_lib.registry.storage import manifest_bytes


class TestParseJson:
    def test_deep_nesting_is_refused_without_recursion(self):
        assert parse_json(b"[" * 200_000 + b"]" * 200_000) == (
            None, f"nested deeper than {MAX_DEPTH} levels")

    def test_nesting_just_over_the_bound_is_refused(self):
        text = "{\"a\": " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"
        assert parse_json(text.encode())[1].startswith("nested deeper")

    def test_not_utf8_not_json_not_an_object(self):
        assert parse_json(b"\xff")[1] == "not UTF-8 text"
        assert parse_json(b"{")[1].startswith("not JSON")
        assert parse_json(b"[1]")[1] == "not a JSON object (found list)"

    def test_depth_counts_containers(self):
        assert depth({"a": {"b": [1]}}) == 3


class TestManifest:
    def test_a_changed_checksum_comes_before_the_fields(self):
        raw = manifest_bytes({"name": "fraud", "version": 1})
        edited = json.loads(raw)
        edited["version"] = 2
        assert parse_manifest(json.dumps(edited).encode()).kind == "changed"

    def test_the_folder_must_match_name_and_version(self, two):
        raw = (two.path("fraud", 2) / "course_manifest.json").read_bytes()
        assert parse_manifest(raw, "fraud", 2).ok
        read = parse_manifest(raw, "fraud", 3)
        assert read.kind == "misplaced" and "sits in fraud/3" in read.problem

    def test_a_real_manifest_has_no_problem(self, real_registry):
        raw = (real_registry.path("fraud", 2) / "course_manifest.json").read_bytes()
        assert manifest_problem(json.loads(raw)) == ""

    def test_a_missing_field_is_named(self):
        assert manifest_problem({"name": "fraud"}).startswith("version: ")


class TestAliases:
    def test_a_good_file(self):
        raw = b'{"aliases": {"production": 2}, "history": {"production": [1, 2]}, "x": 1}'
        assert read_aliases_state(raw) == (
            {"aliases": {"production": 2}, "history": {"production": [1, 2]}}, "")

    def test_a_boolean_is_not_a_version(self):
        assert "expected a version number" in aliases_problem(
            {"aliases": {"production": True}, "history": {}})
