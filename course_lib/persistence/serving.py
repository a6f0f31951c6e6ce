"""Predictions from a fresh Python process, as a deployed service makes them.

>>> from course_lib.persistence import predict_in_subprocess
>>> scores = predict_in_subprocess("fraud.keras", fraud.test.x)   # loaded and run in a new Python
>>> scores.shape
(4001, 1)

The service is ``python -m course_lib.persistence --serve`` (see ``__main__.py``), which
runs :func:`serve`: it answers JSON requests on its stdin, one JSON reply per line on
its stdout. It shares nothing with the calling process but the model files and the
inputs and outputs (``.npz`` files in a private folder, written by
:func:`course_lib._inputs.save`: N-D arrays, dicts of named inputs and outputs, text as
unicode arrays, never pickles; never data on a command line). A request that fails in the
service answers with the error (bad input stays an ``InvalidInputError``), and the service
goes on. Inputs are checked before they are sent (rows, Python objects, ragged rows); a
service that dies is noticed at once (the end of its pipe), with its exit code and its last
lines on stderr, and every later call says it is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course_lib import _checks, _inputs, _tf, errors
from course_lib.errors import CourseLibError, InvalidInputError
from course_lib.persistence.formats import detect_format
from course_lib.persistence.loading import load

__all__ = ["ServingProcess", "predict_in_subprocess", "serve"]

#: How the service is started: this package's ``__main__``, in the same interpreter.
COMMAND = (sys.executable, "-m", "course_lib.persistence", "--serve")


class ServingProcess:
    """A fresh Python interpreter that loads models and predicts on request, as a model server does.

    >>> with ServingProcess() as service:
    ...     scores = service.predict("fraud.keras", fraud.test.x)
    >>> scores.shape, service
    ((4001, 1), ServingProcess(imports=[], stopped))

    It starts at once and imports TensorFlow in the background, so its start-up
    overlaps with your own work. ``imports`` (and :meth:`import_module`) are the
    modules the service imports, such as the one registering a custom layer
    (``"course_lib.layers"``). ``timeout`` is in seconds, per request.
    """

    def __init__(self, imports: Sequence[str] = (), *, safe_mode: bool = True,
                 timeout: float = 300) -> None:
        if isinstance(imports, str):
            raise InvalidInputError(
                f"expected imports to be a list of module names; found the text {imports!r}. "
                f"Fix: imports=[{imports!r}]."
            )
        self.safe_mode = bool(safe_mode)
        self.timeout = _checks.number("timeout", timeout, positive=True, unit="seconds",
                                      example=300)
        self.imports: list[str] = []
        self._count = 0
        self._gone = ""  # why the process stopped, once it has (its exit code, its last words)
        self._dir = Path(tempfile.mkdtemp(prefix="serving-"))
        self._log = open(self._dir / "stderr.log", "w+b")  # noqa: SIM115 (closed in close())
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        self._proc = subprocess.Popen(
            list(COMMAND), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            text=True, env=env)
        self._replies: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_forward, args=(self._proc.stdout, self._replies),
                         daemon=True).start()
        self._finalizer = weakref.finalize(self, _stop_process, self._proc, self._log, self._dir)
        for name in imports:
            self.import_module(name)

    def __repr__(self) -> str:
        state = "running" if self._proc.poll() is None else "stopped"
        return f"ServingProcess(imports={self.imports}, {state})"

    @property
    def used(self) -> bool:
        """True once the service has imported a module or served a prediction."""
        return bool(self.imports) or self._count > 0

    def __enter__(self) -> ServingProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the interpreter and remove its private folder."""
        self._finalizer()

    def _ensure_running(self, what: str) -> None:
        if self._gone:
            raise CourseLibError(f"expected the serving process to be running to {what}; it is "
                                 f"gone ({self._gone}). Fix: start a new ServingProcess() (its "
                                 "imports too), or use predict_in_subprocess for one call.")
        if self._proc.poll() is not None or self._proc.stdin is None or self._proc.stdin.closed:
            self._exited()
            raise CourseLibError(f"expected the serving process to be running to {what}; it has "
                                 f"stopped ({self._gone}). Fix: start a new ServingProcess().")

    def _exited(self) -> str:
        """Record why the process stopped (exit code, last lines on stderr), then clean up."""
        if not self._gone:
            try:
                code = self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # its pipe closed but it lingers: stop it
                self._proc.kill()
                code = self._proc.wait()
            how = (f"killed by signal {-code}" if code is not None and code < 0
                   else f"exited with code {code}")
            tail = self._stderr_tail()
            self._gone = f"it {how}" + (f"; its last lines on stderr: {tail}" if tail else "")
            self.close()
        return self._gone

    def _request(self, what: str, **request: Any) -> None:
        self._ensure_running(what)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
        except OSError as exc:  # the service exited since the last request
            raise CourseLibError(f"expected the serving process to {what}; it has stopped "
                                 f"({self._exited()}). Fix: start a new ServingProcess().") from exc
        while True:
            try:
                line = self._replies.get(timeout=self.timeout)
            except queue.Empty:
                self.close()
                self._gone = f"stopped after {self.timeout:g} s without an answer"
                raise CourseLibError(
                    f"expected the serving process to {what} within {self.timeout:g} s; it was "
                    "still working (or stuck) and was stopped. Fix: pass a larger timeout=, or "
                    "fewer rows per call if the model is slow on this many.") from None
            if line is None:  # the end of its stdout: the process died
                self._exited()
                raise CourseLibError(
                    f"expected the serving process to {what}; {self._gone}. Fix: start a new "
                    "ServingProcess(); if it dies again on the same request, look at the lines "
                    "above (memory, a crash in a module it imports).")
            reply = json.loads(line)
            if reply.get("ready"):
                continue
            if not reply["ok"]:
                raise _reply_error(reply, f"expected the fresh process to {what}; it failed: "
                                          f"{reply['error']}")
            return

    def _stderr_tail(self, lines: int = 5) -> str:
        """The last lines the process wrote on stderr, joined with ' | '."""
        if self._log.closed:
            return ""
        self._log.flush()
        text = (self._dir / "stderr.log").read_text(errors="replace").strip().splitlines()
        return " | ".join(line.strip() for line in text[-lines:] if line.strip())

    def import_module(self, name: str) -> None:
        """Import a module in the service (for instance one that registers custom layers)."""
        name = _checks.text("name", name, example="course_lib.layers")
        self._request(f"import {name}", op="import", module=name)
        self.imports.append(name)

    def predict(self, path: str | os.PathLike[str], x: object, *,
                batch_size: int | None = None, compile: bool = True) -> Any:
        """Load the model at ``path`` in the service and return its predictions for ``x``.

        ``x`` is what the model takes (one array of any rank, a dict of arrays by input name,
        a list in input order); the result is what :meth:`LoadedModel.predict
        <course_lib.persistence.LoadedModel.predict>` returns there: one array, or a dict by
        output name. ``compile`` goes to :func:`~course_lib.persistence.load`.

        >>> service.predict("fraud.keras", fraud.test.x).shape   # service: a ServingProcess()
        (4001, 1)
        """
        p = Path(path).resolve()
        detect_format(p)  # a clear error here rather than one from the service
        data = _sendable(x)
        if batch_size is not None:
            batch_size = _checks.whole("batch_size", batch_size, minimum=1)
        self._ensure_running(f"load {p.name} and predict")
        self._count += 1
        src, dst = self._dir / f"x-{self._count}.npz", self._dir / f"out-{self._count}.npz"
        _inputs.save(src, data)
        try:
            self._request(f"load {p.name} and predict", op="predict", path=str(p), x=str(src),
                          out=str(dst), safe_mode=self.safe_mode, compile=bool(compile),
                          batch_size=batch_size)
            return _inputs.load(dst)
        finally:
            src.unlink(missing_ok=True)
            dst.unlink(missing_ok=True)


def _sendable(x: object) -> _inputs.Inputs:
    """``x`` as arrays the transport can carry, refused here when no model could take it.

    No rows, ragged rows, Python objects that are neither numbers nor text: the same
    messages as :func:`course_lib._inputs.check`. Shapes, dtypes and ranges are the model's
    to check, in the service (its reply keeps the error's class).
    """
    data = _inputs.read(x)
    _checks.rows(_inputs.n_rows(data), "x")
    return data


def _reply_error(reply: dict[str, Any], message: str) -> CourseLibError:
    """The service's error as the same class here when it is one of course_lib's (bad input...)."""
    name = str(reply.get("type") or str(reply.get("error", "")).split(":", 1)[0])
    kind = getattr(errors, name, None) if name in errors.__all__ else None
    if isinstance(kind, type) and issubclass(kind, CourseLibError):
        try:
            return kind(message)
        except TypeError:  # a class that needs more than a message
            pass
    return CourseLibError(message)


def _forward(stream: Any, out: queue.Queue[str | None]) -> None:
    """Put each line the service prints into ``out``; None when it has exited."""
    for line in stream:
        out.put(line)
    out.put(None)


def _stop_process(proc: subprocess.Popen[str], log: Any, folder: Path) -> None:
    with contextlib.suppress(OSError):
        if proc.stdin is not None:
            proc.stdin.close()  # end of requests: the service exits
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    shutil.rmtree(folder, ignore_errors=True)


def predict_in_subprocess(path: str | os.PathLike[str], x: object, *, timeout: float = 300,
                          safe_mode: bool = True, imports: Sequence[str] = ()) -> Any:
    """Load the model and predict in a new Python interpreter, as a deployed service would.

    One-shot use of :class:`ServingProcess`: nothing is shared with the calling
    process but the model file and the input (one array of any rank, or a dict of arrays
    by input name); the result is one array, or a dict by output name. ``imports`` names
    modules the service imports first, such as the one registering a custom layer
    (``"course_lib.layers"``); ``timeout`` is in seconds (above 0).

    A wrong path fails at once, before an interpreter starts:

    >>> predict_in_subprocess("no_such_model.keras", fraud.test.x)
    Traceback (most recent call last):
    ...
    course_lib.errors.ModelFileError: expected a saved model at no_such_model.keras; nothing is there. ...
    """
    timeout = _checks.number("timeout", timeout, positive=True, unit="seconds", example=300)
    detect_format(Path(path))  # fail before starting an interpreter
    data = _sendable(x)
    with ServingProcess(imports, safe_mode=safe_mode, timeout=timeout) as service:
        return service.predict(path, data)


def serve() -> int:
    """The service's side: answer JSON requests on stdin, one JSON reply per line on stdout.

    Started by :class:`ServingProcess` as ``python -m course_lib.persistence --serve``.
    """
    import importlib

    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else is printed (by TensorFlow, say) goes to stderr
    sys.stdout = sys.stderr
    _tf.keras()  # the slow part, done before the first request arrives
    replies.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        try:
            _answer(json.loads(line), importlib.import_module)
            replies.write(json.dumps({"ok": True}) + "\n")
        except Exception as exc:  # noqa: BLE001 (any failure is the answer; the service goes on)
            text = str(exc).strip() or repr(exc)
            reply = {"ok": False, "error": f"{type(exc).__name__}: {text}",
                     "type": type(exc).__name__}
            replies.write(json.dumps(reply) + "\n")
    return 0


def _answer(request: dict[str, Any], import_module: Any) -> None:
    """Do what one request asks: import a module, or load a model and predict."""
    op = request.get("op")
    if op == "import":
        import_module(request["module"])
        return
    if op != "predict":
        raise CourseLibError(f"expected a request to import or predict; found op {op!r}.")
    loaded = load(request["path"], safe_mode=request["safe_mode"],
                  compile=request.get("compile", True))
    out = loaded.predict(_inputs.load(Path(request["x"])), batch_size=request.get("batch_size"))
    _inputs.save(Path(request["out"]), out)
