"""``python -m course_lib.persistence --serve``: the service behind ``ServingProcess``.

>>> from course_lib.persistence.serving import COMMAND
>>> COMMAND[1:]
('-m', 'course_lib.persistence', '--serve')
"""

from __future__ import annotations

import os
import sys

from course_lib.persistence.serving import serve

if __name__ == "__main__":
    if sys.argv[1:] != ["--serve"]:
        sys.exit("usage: python -m course_lib.persistence --serve "
                 "(started by persistence.ServingProcess; answers requests on stdin)")
    code = serve()
    sys.stdout.flush()
    sys.stderr.flush()
    # Every reply is written and every file closed: skip the interpreter's teardown, which
    # takes TensorFlow over a second, so that closing a service does not wait for it.
    os._exit(code)
