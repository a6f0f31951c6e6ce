"""Tests of course_lib.registry.names: the allow-lists of model names, versions and aliases."""

from __future__ import annotations

import numpy as np
import pytest
from registry_helpers import SEED_V1, toy_set

from course_lib.registry import InvalidNameError, validate_alias, validate_name, validate_version


class TestValidateName:
    @pytest.mark.parametrize("name", ["fraud", "fraud-detector", "Fraud_2", "7"])
    def test_plain_names_pass(self, name):
        assert validate_name(name) == name

    @pytest.mark.parametrize(
        "name",
        [
            "../x",
            "a/b",
            "/abs",
            "",
            "..",
            ".hidden",
            "-x",
            "a b",
            "x\n",
            "a" * 65,
            "C:\\x",
            None,
            3,
        ],
    )
    def test_path_like_or_odd_names_are_refused(self, name):
        with pytest.raises(InvalidNameError, match="expected a model name"):
            validate_name(name)

    def test_publish_refuses_a_bad_name_before_writing(self, reg, src):
        with pytest.raises(InvalidNameError, match=r"found '\.\./x'"):
            reg.publish_saved_model(src, "../x", toy_set(), metrics=SEED_V1, latency_ms=1.0)
        assert not (reg.root.parent / "x").exists() and reg.names() == []


class TestValidateVersion:
    @pytest.mark.parametrize(("value", "expected"), [(1, 1), ("12", 12), (np.int64(3), 3)])
    def test_plain_numbers_pass(self, value, expected):
        assert validate_version(value) == expected

    @pytest.mark.parametrize(
        "value", ["01", "-1", "1e3", "", "0", 0, -1, True, 1.0, "1.0", " 1", "a", "../1", None]
    )
    def test_other_forms_are_refused(self, value):
        with pytest.raises(InvalidNameError, match="expected a version number"):
            validate_version(value)

    @pytest.mark.parametrize("ref", ["01", "-1", "1e3", "", "../1", "/1"])
    def test_registry_lookups_refuse_them_too(self, two, ref):
        with pytest.raises(InvalidNameError, match="expected a version number .* or an alias"):
            two.get("fraud", ref)


class TestValidateAlias:
    def test_lowercase_word_passes(self):
        assert validate_alias("production") == "production"

    @pytest.mark.parametrize("alias", ["latest", "1", "Prod", "../x", "", "a" * 33])
    def test_reserved_numeric_or_path_like_refused(self, alias):
        with pytest.raises(InvalidNameError, match="expected an alias"):
            validate_alias(alias)
