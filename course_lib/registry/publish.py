"""Publishing: stage a version in a hidden folder, hash and fsync it, write the manifest,
rename it into the next free number (mixed into :class:`~course_lib.registry.ModelRegistry`).

>>> given_latency(1.5)
{'median_ms': 1.5, 'how': 'given by the publisher'}
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from course_lib import _checks, _fs
from course_lib.errors import InvalidInputError, RegistryError, VersionNotFoundError
from course_lib.metrics import AnyMetrics, Metrics
from course_lib.registry import signing  # signed versions (optional key)
from course_lib.registry.evaluation import (
    EvalSet,
    check_eval_set,
    check_metrics,
    keras_inputs,
    keras_output,
    measure,
    metrics_record,
    single_output,
)
from course_lib.registry.manifest import VersionInfo, info_from_manifest
from course_lib.registry.names import (
    KERAS_FILE,
    MANIFEST_NAME,
    SAVED_MODEL,
    SCHEMA,
    TOMBSTONE_RE,
    VERSION_RE,
    validate_name,
)
from course_lib.registry.schema import MANIFEST_LIMIT
from course_lib.registry.storage import (
    crash_point,
    library_versions,
    locked,
    manifest_bytes,
    now,
)


class PublishingMethods:
    """The publishing methods of :class:`~course_lib.registry.ModelRegistry` (a mixin).

    >>> import tempfile
    >>> from course_lib.registry import ModelRegistry
    >>> ModelRegistry(tempfile.mkdtemp()).publish("model", "fraud", None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected an EvalSet (...); found NoneType. Fix: ...

    They use its ``_model_dir`` (the model's folder, checked to stay inside the root).
    """

    def _next_version(self, model_dir: Path) -> int:
        top = 0
        for e in _fs.scandir(model_dir):
            if VERSION_RE.fullmatch(e.name):
                top = max(top, int(e.name))
            elif m := TOMBSTONE_RE.fullmatch(e.name):
                top = max(top, int(m.group(1)))
        return top + 1

    @contextlib.contextmanager
    def _staging(self, model_dir: Path) -> Iterator[Path]:
        """A hidden staging folder path in ``model_dir``; whatever is left of it is removed."""
        staging = model_dir / f".staging-{_fs.owner_tag()}-{secrets.token_hex(6)}"
        try:
            yield staging
        finally:
            with contextlib.suppress(OSError):  # a killed process's is removed by the next write
                _fs.remove(staging)

    def publish(
        self,
        model: Any,
        name: str,
        eval_set: EvalSet,
        *,
        metrics: AnyMetrics | None = None,
        threshold: float = 0.5,
        keras_file: bool = False,
        notes: str = "",
        tags: Mapping[str, str] | None = None,
        latency_ms: float | None = None,
    ) -> VersionInfo:
        """Save a Keras model as the next version of ``name``, with its manifest; returns it.

        The metrics are those of the model's task (binary, multi-class, regression: read
        from ``eval_set``'s labels and the model's output), computed on ``eval_set`` (a
        binary classifier's at ``threshold``), or pass ``metrics`` computed on that set.
        A model with several outputs is measured only with ``metrics`` given. The latency is
        the median of 30 calls on the first row of every input (or pass ``latency_ms``).
        The SavedModel is written into the version folder itself, plus ``model.keras``
        when ``keras_file=True``.

        >>> test_set = EvalSet("fraud test", x_test, y_test)
        >>> v = reg.publish(model, "fraud", test_set, notes="the lessons' model")
        >>> v.version, v.path                   # reg held versions 1 to 3
        (4, PosixPath('work/registry/fraud/4'))
        """
        from course_lib import persistence
        from course_lib.inference import call_styles
        from course_lib.persistence.formats import check_model

        name = validate_name(name)
        check_eval_set(eval_set)
        try:
            check_model(model)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"{exc} A SavedModel folder is published with publish_saved_model(path, ...)."
            ) from None
        if metrics is None:
            metrics = measure(eval_set, keras_output(model, eval_set.x), threshold)
        metrics = check_metrics(metrics, eval_set)
        latency = given_latency(latency_ms) if latency_ms is not None else latency_record(
            call_styles(model)["model(x, training=False)"],  # every output as NumPy
            keras_inputs(model, eval_set.first_row()),
            "keras model(x, training=False), in process",
        )
        model_dir = self._model_dir(name, create=True)
        with self._staging(model_dir) as staging:
            persistence.save(model, staging, "savedmodel")
            crash_point("saved")
            if keras_file:
                persistence.save(model, staging / KERAS_FILE, "keras")
            return self._commit(
                name, model_dir, staging, eval_set, metrics, latency, notes, tags, keras_file
            )

    def publish_saved_model(
        self,
        path: str | os.PathLike[str],
        name: str,
        eval_set: EvalSet,
        *,
        metrics: AnyMetrics | None = None,
        threshold: float = 0.5,
        notes: str = "",
        tags: Mapping[str, str] | None = None,
        latency_ms: float | None = None,
    ) -> VersionInfo:
        """Publish a SavedModel folder exported elsewhere (copied in, then as :meth:`publish`).

        Without ``metrics`` (or ``latency_ms``) the copy is loaded and evaluated on
        ``eval_set`` (TensorFlow is imported); with both, TensorFlow is not needed.

        >>> test_set = EvalSet("fraud test", x_test, y_test)
        >>> reg.publish_saved_model("export/fraud", "fraud", test_set).version
        4
        """
        name = validate_name(name)
        check_eval_set(eval_set)
        src = Path(path)
        if not (src / SAVED_MODEL).is_file():
            raise InvalidInputError(
                f"expected a SavedModel folder (with {SAVED_MODEL}) at {src}; "
                f"{'it has none' if src.is_dir() else 'there is no folder there'}. Fix: pass the "
                "folder "
                "model.export() wrote."
            )
        model_dir = self._model_dir(name, create=True)
        with self._staging(model_dir) as staging:
            with _fs.disk(f"create the staging folder {staging}"):
                staging.mkdir()
            crash_point("staging-created")
            # a version folder of a registry has a manifest of its own: the new one replaces it;
            # a symbolic link or special file in the source is refused before anything is copied
            _fs.copy_tree(src, staging,
                          skip=lambda rel: rel in (MANIFEST_NAME, signing.SIGNATURE_NAME),
                          after_each=lambda rel: crash_point("copying"))
            crash_point("saved")
            if metrics is None or latency_ms is None:
                from course_lib import persistence

                predict = persistence.load(staging, "savedmodel").predict
            if metrics is None:
                metrics = measure(eval_set, single_output(predict(eval_set.x), "the SavedModel"),
                                  threshold)
            metrics = check_metrics(metrics, eval_set)
            latency = given_latency(latency_ms) if latency_ms is not None else latency_record(
                predict, eval_set.first_row(), "SavedModel serving_default, in process"
            )
            return self._commit(
                name, model_dir, staging, eval_set, metrics, latency, notes, tags, False
            )

    def _commit(
        self,
        name: str,
        model_dir: Path,
        staging: Path,
        eval_set: EvalSet,
        metrics: AnyMetrics,
        latency: Mapping[str, Any],
        notes: str,
        tags: Mapping[str, str] | None,
        keras_file: bool,
    ) -> VersionInfo:
        """Hash and fsync the staged files, write the manifest, rename into the next free number."""
        metrics = check_metrics(metrics, eval_set)
        if not isinstance(notes, str):
            raise InvalidInputError(f"expected notes to be text; found {type(notes).__name__}.")
        tags = dict(tags or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise InvalidInputError(f"expected tags as text keys and values; found {tags!r}.")
        files: dict[str, dict[str, Any]] = {}
        for rel in _fs.walk(staging)[0]:
            digest, size = _fs.sha256(staging / rel, sync=True)
            files[rel] = {"sha256": digest, "size": size}
        for rel in ["", *_fs.walk(staging)[1]]:
            _fs.fsync_dir(staging / rel)
        crash_point("hashed")
        body: dict[str, Any] = {
            "schema": SCHEMA,
            "name": name,
            "created": now(),
            "evaluation": evaluation_record(eval_set, metrics),
            "size_bytes": sum(r["size"] for k, r in files.items() if k != KERAS_FILE),
            "keras_file": KERAS_FILE if keras_file else None,
            "latency": dict(latency),
            "files": files,
            "folders": _fs.walk(staging)[1],  # empty ones too: verify names a folder added later
            "libraries": library_versions(),
            "notes": notes,
            "tags": tags,
        }
        for _attempt in range(10_000):
            version = self._next_version(model_dir)
            body["version"] = version
            _fs.write_atomic(staging / MANIFEST_NAME, manifest_bytes(body))
            signing.sign_version(self, staging)  # with a signing key: the folder as it is renamed
            crash_point("manifest")
            target = model_dir / str(version)
            with locked(model_dir):  # a delete (same lock) cannot slip between check and rename
                if target.exists() or target.is_symlink() or os.path.lexists(
                        model_dir / f".deleted-{version}"):
                    continue  # another publisher took it: try the next number
                try:
                    os.rename(staging, target)  # atomic; fails if target exists and is not empty
                except OSError as exc:
                    if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) or isinstance(
                            exc, FileExistsError):
                        continue
                    err = _fs.storage_error(exc, f"rename {staging} to {target}")
                    raise exc if err is None else err from exc
                crash_point("renamed")
                _fs.fsync_dir(model_dir)
                return self._published(name, version, target)
        raise RegistryError(
            f"expected to find a free version number for {name!r}; gave up after 10,000 tries."
        )

    def _published(self, name: str, version: int, target: Path) -> VersionInfo:
        """The version just renamed into place, read back (under the model's lock)."""
        try:
            raw = _fs.read_file(target / MANIFEST_NAME, MANIFEST_LIMIT, RegistryError)
        except FileNotFoundError:
            raise VersionNotFoundError(
                f"expected {name} version {version}, just published, to be in {target}; it is "
                "gone: something outside the registry removed the folder right after its "
                "rename. Fix: publish again, and let only the registry write in its folder."
            ) from None
        return info_from_manifest(json.loads(raw.decode("utf-8")), target, ())


def evaluation_record(eval_set: EvalSet, metrics: AnyMetrics) -> dict[str, Any]:
    """The manifest's ``evaluation``: the set, the task and its metrics.

    A binary classifier's record is what it always was (threshold, positives, the counts).

    >>> record = evaluation_record(EvalSet("toy", [[0.0], [1.0]], [0, 1]),
    ...                            Metrics.from_predictions([0, 1], [0.2, 0.9]))
    >>> record["task"], record["threshold"], record["positives"], record["metrics"]["tp"]
    ('binary', 0.5, 1, 1)
    """
    record: dict[str, Any] = {"name": eval_set.name, "fingerprint": eval_set.fingerprint,
                              "rows": eval_set.rows, "task": metrics.task}
    if isinstance(metrics, Metrics):
        record["positives"] = metrics.positives
        record["threshold"] = metrics.threshold if metrics.threshold is not None else 0.5
        if metrics.class_names != ("negative", "positive"):
            record["class_names"] = list(metrics.class_names)
    else:
        record["threshold"] = None
    record["metrics"] = metrics_record(metrics)
    return record


def latency_record(fn: Callable[[Any], Any], one_row: Any, how: str) -> dict[str, Any]:
    """The manifest's latency: median and p95 of 30 calls of ``fn`` on one row (3 warm-ups).

    ``one_row`` is one row of every input (an array, or a dict or list of arrays); ``fn``
    returns the predictions as NumPy (their conversion is part of the time).

    >>> record = latency_record(lambda batch: batch * 2, np.zeros((1, 8)), "doubling")
    >>> record["calls"], record["batch_rows"], record["how"]
    (30, 1, 'doubling')
    >>> latency_record(lambda b: b["a"] + b["b"], {"a": np.ones((1, 2)), "b": np.ones((1, 2))},
    ...                "two inputs")["calls"]
    30
    """
    from course_lib.inference import measure_latency

    report = measure_latency(fn, one_row, batch_sizes=(1,), repeats=30, warmup=3)
    row = report.rows[0]
    return {
        "median_ms": row.p50 * 1000,
        "p95_ms": row.p95 * 1000,
        "calls": len(row.seconds),
        "batch_rows": 1,
        "how": how,
    }


def given_latency(latency_ms: object) -> dict[str, Any]:
    """The manifest's latency when the publisher gives it (``latency_ms``, above 0).

    >>> given_latency(2)["median_ms"]
    2.0
    """
    value = _checks.number("latency_ms", latency_ms, positive=True, unit="milliseconds",
                           example=1.0)
    return {"median_ms": value, "how": "given by the publisher"}
