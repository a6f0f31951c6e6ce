"""The tests' shared fixtures live in the repository's conftest.py (one level up).

There the session's datasets, trained models, saved files and registries are built once
and shared with the docstring examples of course_lib. Fixtures of one group of tests stay
next to them (tests/registry/conftest.py, tests/browser/conftest.py).
"""

from __future__ import annotations

import errno
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def fail_copy_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """A disk that fills up mid-copy: ``fail_copy_at(3)`` makes ``_fs.copy_file`` copy files 1
    and 2 for real and raise ``OSError(ENOSPC)`` at the third, as a full disk would (for this
    test only: its monkeypatch undoes it)."""
    from course_lib import _fs

    real = _fs.copy_file

    def arm(n: int) -> None:
        copied = itertools.count(1)

        def copy(src: Path, dst: Path) -> None:
            if next(copied) == n:
                raise OSError(errno.ENOSPC, "No space left on device")
            real(src, dst)

        monkeypatch.setattr(_fs, "copy_file", copy)

    return arm


@pytest.fixture
def fake_program(tmp_path: Path) -> Callable[[str, str], Path]:
    """A program on a fake PATH: ``fake_program("node", "echo v20.1.0")`` writes an executable
    shell script ``tmp_path/node`` running that line (pass ``path=str(tmp_path)`` to a check)."""

    def write(name: str, script: str) -> Path:
        path = tmp_path / name
        path.write_text("#!/bin/sh\n" + script + "\n")
        path.chmod(0o755)
        return path

    return write

