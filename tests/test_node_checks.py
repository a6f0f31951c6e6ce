"""Tests of course_lib.instructor.node_checks: Node 20, @tensorflow/tfjs and its wasm back end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from course_lib import instructor as I

ROOT = Path(__file__).resolve().parent.parent
TFJS_VERSION = "4.22.0"
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on the PATH")


class TestCheckNode:
    def test_no_node_on_the_path_fails_with_the_fix(self, tmp_path):
        c = I.check_node(path=str(tmp_path))
        assert not c.ok and "not found on the PATH" in c.detail and "Node 20" in c.fix

    def test_old_node_fails(self, fake_program, tmp_path):
        fake_program("node", "echo v18.19.0")
        c = I.check_node(path=str(tmp_path))
        assert not c.ok and c.detail.startswith("v18.19.0") and "Node 20 or later" in c.detail

    def test_node_20_passes(self, fake_program, tmp_path):
        fake_program("node", "echo v20.1.0")
        c = I.check_node(path=str(tmp_path))
        assert c.ok and c.detail == f"v20.1.0 at {tmp_path / 'node'}"

    def test_garbage_version_fails(self, fake_program, tmp_path):
        fake_program("node", "echo hello")
        assert "not a version" in I.check_node(path=str(tmp_path)).detail


def course_node_modules(package: str) -> Path:
    """The course's node_modules, which must hold ``@tensorflow/<package>`` (``npm ci``)."""
    nm = ROOT / "node_modules"
    if not (nm / "@tensorflow" / package).is_dir():
        pytest.skip(f"run `npm ci` (make setup) to install @tensorflow/{package}")
    return nm


class TestCheckTfjs:
    def test_no_folder_fails_with_npm_fix(self):
        c = I.check_tfjs(None, expected=TFJS_VERSION)
        assert not c.ok and "npm ci" in c.fix and "COURSE_LIB_NODE_MODULES" in c.fix

    def test_missing_folder_fails(self, tmp_path):
        assert "is not a folder" in I.check_tfjs(tmp_path / "nope", expected=TFJS_VERSION).detail

    def test_without_node_says_to_install_node_first(self, tmp_path):
        c = I.check_tfjs(tmp_path, path=str(tmp_path), expected=TFJS_VERSION)
        assert not c.ok and "`node` is not on the PATH" in c.detail and c.fix.startswith("install Node first")

    @needs_node
    def test_empty_node_modules_is_not_resolvable(self, tmp_path):
        c = I.check_tfjs(tmp_path, expected=TFJS_VERSION)
        assert not c.ok and c.detail.startswith(f"not resolvable from {tmp_path}: ")
        assert "Cannot find module" in c.detail

    @needs_node
    def test_other_version_fails(self, tmp_path):
        pkg = tmp_path / "@tensorflow" / "tfjs"
        pkg.mkdir(parents=True)
        manifest = {"name": "@tensorflow/tfjs", "version": "3.0.0", "main": "index.js"}
        (pkg / "package.json").write_text(json.dumps(manifest))
        (pkg / "index.js").write_text("module.exports = {};\n")
        c = I.check_tfjs(tmp_path, expected=TFJS_VERSION)
        assert not c.ok and c.detail == f"3.0.0 in {tmp_path}; the course pins {TFJS_VERSION}"

    @needs_node
    def test_the_course_node_modules_passes(self):
        nm = course_node_modules("tfjs")
        c = I.check_tfjs(nm)
        assert c.ok and c.detail == f"{TFJS_VERSION} in {nm}"


class TestCheckTfjsWasm:
    def test_without_node_modules_it_warns_and_is_not_required(self):
        c = I.check_tfjs_wasm(None)
        assert (c.label, c.required) == ("warn", False) and c.detail.startswith("not checked")

    @needs_node
    def test_tfjs_without_the_wasm_package_warns_that_cpu_runs(self, tmp_path):
        nm = course_node_modules("tfjs")
        (tmp_path / "@tensorflow").mkdir()
        (tmp_path / "@tensorflow" / "tfjs").symlink_to(nm / "@tensorflow" / "tfjs")
        c = I.check_tfjs_wasm(tmp_path)
        assert c.label == "warn" and "tfjs-backend-wasm is not installed in" in c.detail
        assert c.detail.endswith("the TF.js checks run on the slower cpu back end") and "npm ci" in c.fix

    @needs_node
    def test_the_course_node_modules_starts_it(self):
        nm = course_node_modules("tfjs-backend-wasm")
        c = I.check_tfjs_wasm(nm)
        assert c.ok and c.detail == f"{TFJS_VERSION} starts in {nm} (SIMD on, threads off)"
