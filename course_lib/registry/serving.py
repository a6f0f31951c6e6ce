"""Serving with TF Serving: the :class:`ServingPlan`, the model config text, and the
registry's serving methods (mixed into :class:`~course_lib.registry.ModelRegistry`).

>>> print(serving_config([("fraud", "/models/fraud", {"production": 2})]).splitlines()[1:4])
['  config {', '    name: "fraud"', '    base_path: "/models/fraud"']
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_lib import _display, _fs
from course_lib.errors import VersionNotFoundError
from course_lib.registry.names import CONFIG_NAME, validate_alias, validate_name


@dataclass(frozen=True, repr=False)
class ServingPlan(_display.Report):
    """How TF Serving would serve one model folder, and how to pin the production version.

    >>> plan = ServingPlan("fraud", "/srv/registry/fraud", (1, 2, 3), 3, "production", 1, "")
    >>> plan.ok, plan.verdict.split(": ")[-1]
    (False, 'NOT the same version.')

    ``ok`` is True when TF Serving, left to itself, serves the version the alias points to
    (or there is no alias yet) and nothing on disk would make it fail.
    """

    name: str
    base_path: str
    on_disk: tuple[int, ...]
    default_version: int | None
    alias: str
    pinned: int | None
    config: str
    warnings: tuple[str, ...] = ()

    @property
    def _url(self) -> str:
        return f"http://localhost:8501/v1/models/{self.name}"

    @property
    def docker_command(self) -> str:
        """Serve the folder as it is (TF Serving picks the highest version)."""
        return (
            f'docker run -p 8501:8501 -v "{self.base_path}:/models/{self.name}" '
            f"-e MODEL_NAME={self.name} tensorflow/serving"
        )

    @property
    def model_server_command(self) -> str:
        """The same without Docker."""
        return (
            f"tensorflow_model_server --rest_api_port=8501 --model_name={self.name} "
            f'--model_base_path="{self.base_path}"'
        )

    @property
    def pinned_command(self) -> str:
        """Serve with the model config that pins the alias's version."""
        root = self.base_path.rsplit("/", 1)[0]
        return (
            f'docker run -p 8501:8501 -v "{root}:/models" tensorflow/serving '
            f"--model_config_file=/models/{CONFIG_NAME}"
        )

    @property
    def failures(self) -> tuple[str, ...]:
        """The warnings (a version TF Serving would fail to load), and a default version
        that is not the alias's (``ok`` when there is none of them)."""
        off = self.default_version is None or (
            self.pinned is not None and self.pinned != self.default_version)
        return self.warnings + ((self.verdict,) if off else ())

    @property
    def verdict(self) -> str:
        """Which version TF Serving serves by default, and whether it is the alias's version."""
        if self.default_version is None:
            return f"TF Serving finds no version of {self.name!r} to serve."
        line = f"Without a config it serves the highest number: version {self.default_version}."
        if self.pinned is None:
            return line
        same = "the same version" if self.pinned == self.default_version else "NOT the same version"
        return f"{line} The registry's {self.alias} alias points to version {self.pinned}: {same}."

    @property
    def title(self) -> str:  # type: ignore[override]
        """Which numbered folders TF Serving sees."""
        on_disk = ", ".join(map(str, self.on_disk)) or "none"
        return (f"TF Serving sees versions {on_disk} of {self.name!r} "
                "(it reads only the numbered folders).")

    def instructions(self) -> list[str]:
        """Warnings, the commands that serve the folder, and the config that pins the alias."""
        lines = [f"warning: {w}" for w in self.warnings]
        lines += [
            "",
            "Serve the folder as it is:",
            f"  {self.docker_command}",
            f"  {self.model_server_command}",
        ]
        if self.pinned is not None:
            lines += [
                "",
                f"Pin {self.alias} (version {self.pinned}) with {CONFIG_NAME}:",
                f"  {self.pinned_command}",
                "",
                *("  " + x for x in self.config.rstrip().splitlines()),
                "",
                f"Requests: POST {self._url}/labels/{self.alias}:predict",
                f"      or: POST {self._url}/versions/{self.pinned}:predict",
            ]
        return lines

    def __str__(self) -> str:
        return "\n".join([self.title, self.verdict, *self.instructions()])

    def _repr_html_(self) -> str:
        return (f"<p>{html.escape(self.title)}</p>" + _display.verdict_html(self.verdict, self.ok)
                + f"<pre>{html.escape(chr(10).join(self.instructions()).strip())}</pre>")


def serving_config(entries: Sequence[tuple[str, str, Mapping[str, int]]]) -> str:
    """TF Serving's model config text for ``(name, base_path, {label: version})`` entries.

    >>> "versions: 2" in serving_config([("fraud", "/models/fraud", {"production": 2})])
    True
    """
    out = ["model_config_list {"]
    for name, base, labels in entries:
        versions = sorted(set(labels.values()))
        out += [
            "  config {",
            f'    name: "{name}"',
            f'    base_path: "{base}"',
            '    model_platform: "tensorflow"',
            "    model_version_policy {",
            "      specific {",
        ]
        out += [f"        versions: {v}" for v in versions]
        out += ["      }", "    }"]
        for label, v in labels.items():
            out += ["    version_labels {", f'      key: "{label}"', f"      value: {v}", "    }"]
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


class ServingMethods:
    """The serving methods of :class:`~course_lib.registry.ModelRegistry` (a mixin).

    >>> import tempfile
    >>> from course_lib.registry import ModelRegistry
    >>> ModelRegistry(tempfile.mkdtemp()).serving("fraud").verdict
    "TF Serving finds no version of 'fraud' to serve."

    They use its ``root``, :meth:`~course_lib.registry.ModelRegistry.names`,
    :meth:`~course_lib.registry.ModelRegistry.scan` and
    :meth:`~course_lib.registry.ModelRegistry.aliases`.
    """

    def _host_path(self, name: str) -> str:
        p = self.root / name
        return p.as_posix() if p.is_absolute() else f"$PWD/{p.as_posix()}"

    def serving_config(
        self,
        names: str | Sequence[str] | None = None,
        aliases: Sequence[str] = ("production",),
        container_root: str = "/models",
    ) -> str:
        """TF Serving's model config text: each model pinned to its aliased versions, with labels.

        ``model_version_policy { specific { versions: N } }`` makes TF Serving load
        exactly the production version (instead of the highest number), and
        ``version_labels`` lets clients ask for ``/labels/production``.

        >>> print(reg.serving_config("fraud"))
        model_config_list {
          config {
            name: "fraud"
        ...
        """
        chosen = [names] if isinstance(names, str) else list(names or self.names())
        entries = []
        for n in chosen:
            current = self.aliases(n)
            labels = {validate_alias(a): current[a] for a in aliases if a in current}
            if not labels:
                raise VersionNotFoundError(
                    f"expected {n!r} to have one of the aliases {list(aliases)} to pin; it has "
                    f"{sorted(current) or 'none'}. Fix: promote a version first."
                )
            entries.append((validate_name(n), f"{container_root.rstrip('/')}/{n}", labels))
        return serving_config(entries)

    def write_serving_config(
        self, names: str | Sequence[str] | None = None, aliases: Sequence[str] = ("production",)
    ) -> Path:
        """Write :meth:`serving_config` to ``root/models.config`` atomically; returns the path.

        >>> reg.write_serving_config("fraud")
        PosixPath('work/registry/models.config')
        """
        path = self.root / CONFIG_NAME
        _fs.write_atomic(path, self.serving_config(names, aliases))
        return path

    def serving(self, name: str, alias: str = "production") -> ServingPlan:
        """How TF Serving would serve ``root/name``: which version, the commands, a pinning config.

        TF Serving knows nothing of manifests or aliases: by default it serves the
        highest numbered folder. The plan says which that is and how to pin the alias.

        >>> print(reg.serving("fraud"))
        TF Serving sees versions 1, 2, 3 of 'fraud' ...
        """
        name = validate_name(name)
        alias = validate_alias(alias)
        statuses = self.scan(name)
        on_disk = tuple(s.version for s in statuses if s.reason != "a file, not a version folder")
        default = max(on_disk) if on_disk else None
        warnings = []
        bad = {s.version: s.reason for s in statuses if not s.valid}
        if default is not None and default in bad:
            warnings.append(
                f"version {default} is not a valid registry version ({bad[default]}); "
                "TF Serving would try to load it and fail"
            )
        pinned = self.aliases(name).get(alias)
        config = self.serving_config(name, (alias,)) if pinned is not None else ""
        return ServingPlan(
            name, self._host_path(name), on_disk, default, alias, pinned, config, tuple(warnings)
        )
