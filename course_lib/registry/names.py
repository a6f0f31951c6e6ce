"""File names of the layout, and the allow-lists for model names, versions and aliases.

>>> from course_lib.registry.names import validate_name, validate_version, validate_alias
>>> validate_name("fraud"), validate_version("12"), validate_alias("production")
('fraud', 12, 'production')

A name, version or alias becomes part of a path, so each is checked against a pattern of
allowed characters before anything touches the disk.
"""

from __future__ import annotations

import re

import numpy as np

from course_lib.errors import InvalidNameError

#: The manifest's file name inside each version folder.
MANIFEST_NAME = "course_manifest.json"
ALIASES_NAME = "aliases.json"
MARKER_NAME = ".course_registry"
CONFIG_NAME = "models.config"
SCHEMA = "course-lib-registry/1"
#: What TF Serving loads, directly in the version folder; the optional Keras file beside it.
SAVED_MODEL = "saved_model.pb"
KERAS_FILE = "model.keras"

#: The allow-lists (a tombstone marks a deleted number, never given out again).
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
VERSION_RE = re.compile(r"[1-9][0-9]{0,17}")
ALIAS_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
TOMBSTONE_RE = re.compile(r"\.deleted-([1-9][0-9]{0,17})")


def validate_name(name: object) -> str:
    """A model name from the allow-list: 1 to 64 letters, digits, ``_`` or ``-`` (not first).

    >>> validate_name("fraud")
    'fraud'
    >>> validate_name("../x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidNameError: expected a model name ... found '../x'. ...
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidNameError(
            "expected a model name of 1 to 64 letters, digits, '_' or '-' starting with a letter "
            f"or digit (e.g. 'digits'); found {name!r}. A name becomes a folder under the "
            "registry root, so '/', '..', absolute paths and empty names are refused. Fix: use a "
            "plain name such as 'digits' or 'churn-model'."
        )
    return name


def validate_version(version: object) -> int:
    """A version number from the allow-list: a whole number of 1 or more, written plainly.

    Integers and strings of digits without a leading zero, sign or exponent are accepted.

    >>> validate_version(3), validate_version("12")
    (3, 12)
    >>> validate_version("01")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidNameError: expected a version number: ... found '01'. ...
    """
    if isinstance(version, (int, np.integer)) and not isinstance(version, bool):
        if 1 <= int(version) < 10**18:
            return int(version)
    elif isinstance(version, str) and VERSION_RE.fullmatch(version):
        return int(version)
    raise InvalidNameError(
        "expected a version number: a whole number of 1 or more written with digits only, no "
        f"leading zero, sign or exponent (e.g. 3); found {version!r}. Fix: pass e.g. 3 or \"3\"."
    )


def validate_alias(alias: object) -> str:
    """An alias name from the allow-list: lowercase, starting with a letter (so never a number).

    ``latest`` is reserved: it always means the highest version.

    >>> validate_alias("production")
    'production'
    """
    if not isinstance(alias, str) or not ALIAS_RE.fullmatch(alias) or alias == "latest":
        raise InvalidNameError(
            "expected an alias of 1 to 32 lowercase letters, digits, '_' or '-' starting with a "
            f"letter, other than the reserved 'latest' (e.g. 'production', 'candidate'); found "
            f"{alias!r}. Fix: pick a word such as 'production'."
        )
    return alias
