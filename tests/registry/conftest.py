"""Fixtures of the registry tests: fake SavedModel folders, small registries, real versions."""

from __future__ import annotations

import shutil

import pytest
from registry_helpers import SEED_V1, SEED_V2, fake_saved_model, toy_set

from course_lib.registry import ModelRegistry


@pytest.fixture
def src(tmp_path):
    """A fake SavedModel folder to publish."""
    return fake_saved_model(tmp_path / "export")


@pytest.fixture
def reg(tmp_path):
    """An empty registry."""
    return ModelRegistry(tmp_path / "registry")


@pytest.fixture
def two(reg, src):
    """A registry with the seed's v1 and v2 published on the same toy test set."""
    s = toy_set()
    reg.publish_saved_model(src, "fraud", s, metrics=SEED_V1, latency_ms=1.0, notes="v1")
    reg.publish_saved_model(src, "fraud", s, metrics=SEED_V2, latency_ms=1.2, notes="v2")
    return reg


@pytest.fixture
def real(real_registry, tmp_path):
    """A private copy of the session's ``real_registry`` (the repository's conftest.py).

    Copying is cheap; tests may change the copy.
    """
    copy = tmp_path / "copy"
    shutil.copytree(real_registry.root, copy)
    return ModelRegistry(copy)
