"""The real TF.js runtime: ``@tensorflow/tfjs`` in Node, found, started and asked for scores.

>>> from course_lib.tfjs import runtime
>>> runtime.find_node_modules({"COURSE_LIB_NODE_MODULES": "/srv/js/node_modules"})
PosixPath('/srv/js/node_modules')

Where ``@tensorflow/tfjs`` is looked for (:func:`find_node_modules`): the folder in
``COURSE_LIB_NODE_MODULES`` if set, else the repository checkout's ``node_modules``
(made by ``npm ci``), else each folder of ``NODE_PATH`` that holds it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from course_lib.errors import TfjsRuntimeError

__all__ = [
    "INSTALL_HINT", "NODE_MODULES_VARIABLE", "TFJS_VERSION", "find_node_modules", "node_modules",
]

#: The TF.js runtime version package.json installs.
TFJS_VERSION = "4.22.0"
#: The environment variable that names the node_modules folder to use.
NODE_MODULES_VARIABLE = "COURSE_LIB_NODE_MODULES"
#: How to install the runtime, appended to every "not found" message.
INSTALL_HINT = (
    "Fix: run `npm ci` in the course repository (make setup does it), or run "
    f"`npm install @tensorflow/tfjs@{TFJS_VERSION}` in a folder of your choice and set "
    f"{NODE_MODULES_VARIABLE} to that folder's node_modules."
)


def _has_tfjs(folder: Path) -> bool:
    return (folder / "@tensorflow" / "tfjs" / "package.json").is_file()


def _checkout_node_modules() -> Path:
    """The repository checkout's node_modules (course_lib/tfjs/runtime.py -> the checkout)."""
    return Path(__file__).resolve().parents[2] / "node_modules"


def find_node_modules(environ: Mapping[str, str] | None = None,
                      checkout: Path | None = None) -> Path | None:
    """The ``node_modules`` folder the lessons use for ``@tensorflow/tfjs`` (None when none is known).

    >>> find_node_modules({"COURSE_LIB_NODE_MODULES": "/srv/js/node_modules"})
    PosixPath('/srv/js/node_modules')

    ``COURSE_LIB_NODE_MODULES`` when set (even if the folder is wrong: the check then
    says so), else the repository checkout's ``node_modules`` (``checkout``, by default
    the one beside ``course_lib/``), else a ``NODE_PATH`` folder that holds
    ``@tensorflow/tfjs``. The one lookup: :func:`node_modules` and the instructor's
    environment check both use it.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get(NODE_MODULES_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    checkout = _checkout_node_modules() if checkout is None else Path(checkout)
    if checkout.is_dir():
        return checkout
    for p in environ.get("NODE_PATH", "").split(os.pathsep):
        if p and _has_tfjs(Path(p)):
            return Path(p)
    return None


def node_modules() -> Path:
    """The ``node_modules`` folder that holds ``@tensorflow/tfjs`` (resolved), or a clear error.

    :func:`find_node_modules`, then a check that ``@tensorflow/tfjs`` is really there.

    >>> node_modules().name                                          # doctest: +SKIP
    'node_modules'
    """
    found = find_node_modules()
    explicit = os.environ.get(NODE_MODULES_VARIABLE)
    if found is None:
        looked = ", ".join(str(c) for c in [_checkout_node_modules(), *(
            Path(p) for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p)])
        raise TfjsRuntimeError(
            f"expected the TF.js runtime @tensorflow/tfjs in a node_modules folder; looked in "
            f"{looked} and NODE_PATH, and {NODE_MODULES_VARIABLE} is not set. {INSTALL_HINT}"
        )
    if not _has_tfjs(found):
        where = f"{NODE_MODULES_VARIABLE}={explicit}" if explicit else str(found)
        raise TfjsRuntimeError(
            f"expected @tensorflow/tfjs in {where} (a folder @tensorflow/tfjs with its "
            f"package.json); it is not there. {INSTALL_HINT}"
        )
    return found.resolve()
