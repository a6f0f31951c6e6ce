"""The shape of the registry's two JSON files, checked in one place before anything uses them.

>>> read = parse_manifest(manifest_bytes({"name": "fraud", "version": 1}))
>>> read.kind, read.problem
('invalid', 'created: expected text; found nothing (the field is missing)')

A manifest or an ``aliases.json`` is read with a bound on its size (:data:`MANIFEST_LIMIT`,
:data:`ALIASES_LIMIT`) and its nesting (:data:`MAX_DEPTH`), never through a symbolic
link, then its fields are checked for their type (:func:`manifest_problem`,
:func:`aliases_problem`): a crafted file is refused with what was wrong, never a
``RecursionError``, ``KeyError`` or ``TypeError`` from deep inside.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from course_lib.errors import InvalidInputError, InvalidNameError
from course_lib.registry.evaluation import TASK_WORDS, metrics_from_record
from course_lib.registry.names import NAME_RE, validate_alias, validate_version
from course_lib.registry.storage import checksum_ok, manifest_bytes

#: Bounds of what is read: a manifest of 100,000 files is about 15 MB.
MANIFEST_LIMIT = 32 << 20
ALIASES_LIMIT = 8 << 20
#: The deepest nesting of lists and objects a registry file holds (a manifest: about 5).
MAX_DEPTH = 32

SHA256_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ManifestRead:
    """A parsed manifest and what is wrong with it.

    ``kind`` is ``"ok"``, ``"unreadable"`` (not JSON, too deep), ``"changed"`` (its own
    checksum fails: edited after publishing), ``"invalid"`` (a field of the wrong type)
    or ``"misplaced"`` (it describes another model or version than its folder).

    >>> ManifestRead(None, "unreadable", "not JSON").ok
    False
    """

    data: dict[str, Any] | None
    kind: str
    problem: str = ""

    @property
    def ok(self) -> bool:
        """True when the manifest can be used."""
        return self.kind == "ok"


def depth(obj: Any) -> int:
    """How deeply lists and objects nest in ``obj`` (counted without recursion).

    >>> depth({"a": [1, {"b": []}]}), depth(3)
    (4, 0)
    """
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, d)
            if d > MAX_DEPTH:
                break
            stack.extend((v, d + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(raw: bytes) -> tuple[Any, str]:
    """The JSON object in ``raw`` and ``""``, or None and why it cannot be used.

    >>> parse_json(b'{"a": 1}'), parse_json(b"[" * 100_000)[1]
    (({'a': 1}, ''), 'nested deeper than 32 levels')
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    try:
        data = json.loads(text)
    except RecursionError:
        return None, f"nested deeper than {MAX_DEPTH} levels"
    except ValueError as exc:
        return None, f"not JSON ({exc})"
    if depth(data) > MAX_DEPTH:
        return None, f"nested deeper than {MAX_DEPTH} levels"
    if not isinstance(data, dict):
        return None, f"not a JSON object (found {type(data).__name__})"
    return data, ""


# -- field checks ---------------------------------------------------------------------------------

def _kind(value: Any) -> str:
    return "nothing (the field is missing)" if value is _MISSING else (
        f"{type(value).__name__} {value!r}"[:80])


_MISSING = object()


def _integer(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _safe_rel(rel: Any) -> bool:
    """A relative posix path inside the folder: no '..', no absolute path, no empty part."""
    return (isinstance(rel, str) and bool(rel) and not rel.startswith("/") and "\\" not in rel
            and "\x00" not in rel and all(p not in ("", ".", "..") for p in rel.split("/")))


def _text_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def manifest_problem(data: Mapping[str, Any]) -> str:
    """What is wrong with the fields of a parsed manifest (``""`` when nothing is).

    >>> manifest_problem({"name": "fraud", "version": "1"})
    "version: expected a whole number of 1 or more; found str '1'"
    """
    get = lambda key: data.get(key, _MISSING)
    name, version = get("name"), get("version")
    if not (isinstance(name, str) and NAME_RE.fullmatch(name)):
        return f"name: expected a model name; found {_kind(name)}"
    if not _integer(version, 1):
        return f"version: expected a whole number of 1 or more; found {_kind(version)}"
    for key in ("created",):
        if not isinstance(get(key), str):
            return f"{key}: expected text; found {_kind(get(key))}"
    if not _integer(get("size_bytes")):
        return f"size_bytes: expected a number of bytes; found {_kind(get('size_bytes'))}"
    files = get("files")
    if not isinstance(files, dict):
        return f"files: expected an object of files; found {_kind(files)}"
    for rel, rec in files.items():
        if not _safe_rel(rel):
            return f"files: expected paths inside the version folder; found {rel!r}"
        if not (isinstance(rec, dict) and isinstance(rec.get("sha256"), str)
                and SHA256_RE.fullmatch(rec["sha256"]) and _integer(rec.get("size"))):
            return f"files[{rel!r}]: expected a sha256 (64 hex digits) and a size; found {rec!r}"[:200]
    folders = get("folders")
    if folders is not _MISSING and not (isinstance(folders, list)
                                        and all(_safe_rel(f) for f in folders)):
        return f"folders: expected a list of paths inside the version folder; found {_kind(folders)}"
    for key in ("libraries", "tags"):
        if get(key) is not _MISSING and not _text_map(get(key)):
            return f"{key}: expected an object of text; found {_kind(get(key))}"
    if get("libraries") is _MISSING:
        return f"libraries: expected an object of text; found {_kind(_MISSING)}"
    for key in ("notes", "schema"):
        if get(key) is not _MISSING and not isinstance(get(key), str):
            return f"{key}: expected text; found {_kind(get(key))}"
    keras = get("keras_file")
    if keras is not _MISSING and keras is not None and not _safe_rel(keras):
        return f"keras_file: expected a file name or null; found {_kind(keras)}"
    latency = get("latency")
    if latency is not _MISSING and latency is not None and not (
            isinstance(latency, dict)
            and (latency.get("median_ms") is None or _number(latency["median_ms"]))):
        return f"latency: expected an object with median_ms in milliseconds; found {_kind(latency)}"
    return evaluation_problem(get("evaluation"))


def evaluation_problem(ev: Any) -> str:
    """What is wrong with a manifest's ``evaluation`` (``""`` when nothing is).

    >>> evaluation_problem({"name": "t", "fingerprint": "ab", "rows": -1})
    'evaluation.rows: expected a number of rows; found int -1'
    """
    if not isinstance(ev, dict):
        return f"evaluation: expected an object; found {_kind(ev)}"
    if not isinstance(ev.get("name"), str) or not isinstance(ev.get("fingerprint"), str):
        return "evaluation: expected the evaluation set's name and fingerprint as text"
    if not _integer(ev.get("rows")):
        return f"evaluation.rows: expected a number of rows; found {_kind(ev.get('rows', _MISSING))}"
    task = ev.get("task")
    if task is not None and task not in TASK_WORDS:
        return f"evaluation.task: expected one of {sorted(TASK_WORDS)}; found {_kind(task)}"
    threshold = ev.get("threshold")
    if threshold is not None and not _number(threshold):
        return f"evaluation.threshold: expected a number or null; found {_kind(threshold)}"
    if not isinstance(ev.get("metrics"), dict):
        return f"evaluation.metrics: expected an object; found {_kind(ev.get('metrics', _MISSING))}"
    try:
        metrics_from_record(ev)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError,
            InvalidInputError) as exc:
        return f"evaluation.metrics: expected the metrics of the task; they cannot be read ({exc!r})"[:240]
    return ""


def parse_manifest(raw: bytes, name: str | None = None, version: int | None = None,
                   exact: bool = False) -> ManifestRead:
    """Parse and check a manifest's bytes; ``name``/``version``: the folder it sits in.

    The checksum is checked before the fields (a manifest edited by hand is "changed",
    whatever its fields); ``exact`` also requires the very bytes the registry writes.

    >>> parse_manifest(b"[" * 200_000).problem
    'nested deeper than 32 levels'
    """
    data, why = parse_json(raw)
    if data is None:
        return ManifestRead(None, "unreadable", why)
    intact = manifest_bytes(data) == raw if exact else checksum_ok(data)
    if not intact:
        return ManifestRead(data, "changed", "its content no longer matches its own checksum")
    problem = manifest_problem(data)
    if problem:
        return ManifestRead(data, "invalid", problem)
    if name is not None and (data["name"] != name or data["version"] != version):
        return ManifestRead(
            data, "misplaced",
            f"it describes {data['name']!r} version {data['version']}, but sits in "
            f"{name}/{version}: the folder was copied or renamed (or swapped with another)")
    return ManifestRead(data, "ok")


def aliases_problem(data: Mapping[str, Any]) -> str:
    """What is wrong with a parsed ``aliases.json`` (``""`` when nothing is).

    >>> aliases_problem({"aliases": {"production": 2}, "history": {"production": [1, 2]}})
    ''
    >>> aliases_problem({"aliases": [], "history": {}})
    'aliases: expected an object of alias -> version; found list []'
    """
    aliases, history = data.get("aliases", _MISSING), data.get("history", _MISSING)
    if not isinstance(aliases, dict):
        return f"aliases: expected an object of alias -> version; found {_kind(aliases)}"
    if not isinstance(history, dict):
        return f"history: expected an object of alias -> versions; found {_kind(history)}"
    try:
        for k, v in aliases.items():
            validate_alias(k)
            if not _integer(v, 1):
                return f"aliases[{k!r}]: expected a version number; found {_kind(v)}"
        for k, vs in history.items():
            validate_alias(k)
            if not (isinstance(vs, list) and all(_integer(v, 1) for v in vs)):
                return f"history[{k!r}]: expected a list of version numbers; found {_kind(vs)}"
    except InvalidNameError as exc:
        return f"an alias outside the allow-list ({str(exc).split(';')[1].strip()})"
    return ""


def read_aliases_state(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """``{"aliases": ..., "history": ...}`` of an ``aliases.json``'s bytes, or None and why.

    >>> read_aliases_state(b'{"aliases": {"production": 1}, "history": {}}')
    ({'aliases': {'production': 1}, 'history': {}}, '')
    """
    data, why = parse_json(raw)
    if data is None:
        return None, why
    problem = aliases_problem(data)
    if problem:
        return None, problem
    return {"aliases": {k: validate_version(v) for k, v in data["aliases"].items()},
            "history": {k: [validate_version(v) for v in vs]
                        for k, vs in data["history"].items()}}, ""
