"""Signed versions and alias files: an elliptic-curve key, the OpenSSF ``model-signing`` library.

>>> import tempfile
>>> keys = make_keys(tempfile.mkdtemp())
>>> keys.private.name, oct(keys.private.stat().st_mode & 0o777), keys.public.name
('registry.key', '0o600', 'registry.pub')

**What the checksums catch, and what they do not.** Every manifest lists the sha256 of each
file and carries a sha256 of itself. That catches accidents: a flipped byte, a file cut short,
a copy that stopped half way, an edit that forgot the checksums. It does not catch a writer
who recomputes them: the sha256 has no secret, so whoever can write the folder can replace the
weights, recompute the file's sha256 and the manifest's checksum, and ``verify`` passes.

**What a signature adds.** With a signing key, the registry signs each version (every file of
the version folder, the manifest included) and every change of ``aliases.json`` with a
private key; with the public key, :meth:`~course_lib.registry.ModelRegistry.verify`,
``load``, ``promote``, ``set_alias`` and ``rollback`` refuse whatever the key did not sign
(:class:`~course_lib.errors.SignatureError`). A forger who can write the folder but does
not hold the private key can no longer pass. The signing is the OpenSSF ``model-signing``
library (1.1.1, offline, a sigstore bundle signed with an ECDSA P-256 key); nothing here
does cryptography of its own::

    keys = make_keys("~/.course-keys")            # once: registry.key (mode 0600), registry.pub
    reg = ModelRegistry("work/registry", signing_key=keys.private, public_key=keys.public)
    reader = ModelRegistry("work/registry", public_key=keys.public)   # checks, cannot sign

**Where the signatures live.** A version's signature is ``course_signature.sig`` inside its
folder: it is written into the staging folder just before the rename, so the version, its
manifest and its signature appear together in one atomic rename (TF Serving ignores the
file). An alias file carries its signature inside itself (a ``"signature"`` field over the
rest of the file and the model's name), so a reader never sees aliases and a signature from
two different writes.

**Limits.** A signature proves who wrote a file, not that it is the newest: someone who can
write the folder can still delete a version, or put back an older ``aliases.json`` that the
key once signed. Empty folders carry no bytes and are not signed. The private key is stored
unencrypted (mode 0600): keep it off the machine that serves the models.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from course_lib import _fs
from course_lib.errors import (
    InvalidInputError,
    MissingDependencyError,
    SignatureError,
)
from course_lib.registry.reports import FileProblem, VerifyReport
from course_lib.registry.storage import canonical

__all__ = [
    "SIGNATURE_FIELD",
    "SIGNATURE_NAME",
    "KeyPair",
    "SignedVerifyReport",
    "check_aliases",
    "checked",
    "make_keys",
    "refuse_unsigned",
    "seal_aliases",
    "sign_version",
    "use_keys",
]

#: The signature of a version, inside its folder (never listed in the manifest it covers).
SIGNATURE_NAME = "course_signature.sig"
#: The field of ``aliases.json`` that holds the signature of the rest of the file.
SIGNATURE_FIELD = "signature"
INSTALL = "pip install 'course-lib[signing]' (model-signing==1.1.1 and pyopenssl)"
UNSIGNED_NOTE = "checksums only: they catch accidents, not someone who recomputes them"


# -- the library, imported when a key is used ----------------------------------------------------

def _model_signing() -> ModuleType:
    """``model_signing`` with its signing and verifying modules (and pyOpenSSL, which it needs)."""
    try:
        import model_signing
        import model_signing.hashing
        import model_signing.signing
        import model_signing.verifying
        import OpenSSL  # noqa: F401 (model-signing imports it without declaring it)
    except ImportError as exc:
        raise MissingDependencyError(
            "expected the optional packages model-signing and pyOpenSSL for a signed registry "
            f"(signing_key= or public_key=); they are not installed ({exc}). Fix: {INSTALL}."
        ) from exc
    return model_signing


def _crypto() -> Any:
    """``cryptography``'s key serialization and elliptic curves (installed with model-signing)."""
    _model_signing()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return serialization, ec


# -- keys -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyPair:
    """The two PEM files of a registry key: ``private`` signs (mode 0600), ``public`` checks.

    >>> KeyPair(Path("keys/registry.key"), Path("keys/registry.pub")).public.suffix
    '.pub'
    """

    private: Path
    public: Path


def make_keys(folder: str | os.PathLike[str], name: str = "registry") -> KeyPair:
    """Make a signing key pair (ECDSA P-256) as ``folder/NAME.key`` and ``folder/NAME.pub``.

    The private key is written with mode 0600 (only you can read it), unencrypted; existing
    files are never overwritten.

    >>> import tempfile
    >>> pair = make_keys(tempfile.mkdtemp(), "fraud")
    >>> pair.public.read_text().splitlines()[0]
    '-----BEGIN PUBLIC KEY-----'
    """
    serialization, ec = _crypto()
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
        raise InvalidInputError(
            f"expected a key name of letters, digits, '_' or '-' (e.g. 'registry'); found "
            f"{name!r}. Fix: pass a plain name."
        )
    d = Path(folder).expanduser()
    pair = KeyPair(d / f"{name}.key", d / f"{name}.pub")
    taken = [p for p in (pair.private, pair.public) if p.exists() or p.is_symlink()]
    if taken:
        raise InvalidInputError(
            f"expected no key files at {', '.join(str(p) for p in taken)}; they exist, and a key "
            "is never overwritten (versions signed with it would no longer verify). Fix: use "
            "them as they are, or choose another folder or name."
        )
    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with _fs.disk(f"write the key pair in {d}"):
        d.mkdir(parents=True, exist_ok=True)
        fd = os.open(pair.private, flags, 0o600)  # created 0600: never readable by others
        with os.fdopen(fd, "wb") as f:
            f.write(private_pem)
        _fs.write_atomic(pair.public, public_pem)
    return pair


def _load_key(path: Path, private: bool) -> Any:
    serialization, ec = _crypto()
    what = "signing_key (a private key)" if private else "public_key"
    if not path.is_file():
        raise InvalidInputError(
            f"expected {what} to be a PEM file; {path} "
            f"{'is not a file' if path.exists() else 'does not exist'}. Fix: pass the file "
            "make_keys wrote (course-lib registry keygen DIR makes a pair)."
        )
    with _fs.disk(f"read the key {path}"):
        data = path.read_bytes()
    try:
        key = (serialization.load_pem_private_key(data, password=None) if private
               else serialization.load_pem_public_key(data))
    except (ValueError, TypeError) as exc:
        other = "public" if private else "private"
        raise InvalidInputError(
            f"expected {what} in {path}; it is not one ({exc}). Fix: pass the .key file as "
            f"signing_key= and the .pub file as public_key= (not the {other} one)."
        ) from None
    kind = ec.EllipticCurvePrivateKey if private else ec.EllipticCurvePublicKey
    if not isinstance(key, kind) or key.curve.name not in ("secp256r1", "secp384r1",
                                                           "secp521r1"):
        raise InvalidInputError(
            f"expected an elliptic-curve key (P-256, P-384 or P-521) in {path}; found "
            f"{type(key).__name__}. Fix: make a pair with make_keys (course-lib registry keygen)."
        )
    if private and os.name == "posix" and path.stat().st_mode & 0o077:
        raise InvalidInputError(
            f"expected the private key {path} to be readable by its owner only (mode 0600); it "
            f"is {stat.filemode(path.stat().st_mode)}, so other users can sign as you. "
            f"Fix: chmod 600 {path}."
        )
    return key


def use_keys(reg: Any, signing_key: str | os.PathLike[str] | None,
             public_key: str | os.PathLike[str] | None) -> None:
    """Check the key files and set ``reg.signing_key`` and ``reg.public_key`` (Paths or None).

    >>> class Reg: pass
    >>> reg = Reg(); use_keys(reg, None, None); reg.signing_key, reg.public_key
    (None, None)
    """
    serialization, _ = _crypto() if signing_key or public_key else (None, None)
    private = None if signing_key is None else _load_key(Path(signing_key).expanduser(), True)
    public = None if public_key is None else _load_key(Path(public_key).expanduser(), False)
    if private is not None and public is None:
        raise InvalidInputError(
            f"expected public_key= beside signing_key={str(signing_key)!r}; found none. A "
            "registry that signs must check what it reads first, or it would sign over an "
            "alias file someone edited. Fix: pass the .pub file made with that key as well."
        )
    if private is not None and public is not None:
        spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if private.public_key().public_bytes(*spki) != public.public_bytes(*spki):
            raise InvalidInputError(
                f"expected the public key {public_key} to belong to the signing key "
                f"{signing_key}; it belongs to another key, so nothing this registry signs "
                "would verify. Fix: pass the .pub file made with that .key file."
            )
    reg.signing_key = Path(signing_key).expanduser() if signing_key is not None else None
    reg.public_key = Path(public_key).expanduser() if public_key is not None else None


def _hashing(ms: ModuleType, ignored: list[str]) -> Any:
    # git's files (.gitignore...) are signed like any other: a version folder holds none
    return ms.hashing.Config().set_ignored_paths(paths=ignored, ignore_git_paths=False)


def _sign(reg: Any, target: Path, signature: Path, ignored: list[str]) -> None:
    ms = _model_signing()
    (ms.signing.Config().use_elliptic_key_signer(private_key=reg.signing_key)
     .set_hashing_config(_hashing(ms, ignored)).sign(target, signature))


def _why(exc: Exception) -> str:
    """What a failed ``model-signing`` verification means, in words (no digests)."""
    text = str(exc)
    # model-signing 1.1.1 lists its findings as a Python list: names may come quoted \'x\'
    changed = re.findall(r"Hash mismatch for \\?'([^'\\]+)\\?'", text)
    added = re.search(r"Extra files found in model \\?'.*?\\?': ([^\"'\\\]]*)", text)
    removed = re.search(r"Missing files in model \\?'.*?\\?': ([^\"'\\\]]*)", text)
    if changed or added or removed:
        parts = ([f"{', '.join(changed)} changed after signing"] if changed else []) + (
            [f"{added.group(1)} added after signing"] if added else []) + (
            [f"{removed.group(1)} deleted after signing"] if removed else [])
        return "; ".join(parts)
    if text.startswith("Key mismatch"):
        return "it was signed with another key, not the one of this public key"
    if "symlink" in text:
        return "the folder holds a symbolic link, which is never signed"
    if type(exc).__name__ == "InvalidSignature":
        return "the signature itself was altered: it does not verify with this public key"
    if text.startswith("Signature mismatch"):
        return f"the files differ from what was signed ({text[:300]})"
    return (f"the signature file is not a valid model-signing bundle ({type(exc).__name__}: "
            f"{text[:300] or 'no detail'})")


def _verify(reg: Any, target: Path, signature: Path, ignored: list[str]) -> str:
    """"" when the signature of ``target`` holds for ``reg.public_key``, else why not."""
    ms = _model_signing()
    config = (ms.verifying.Config().use_elliptic_key_verifier(public_key=reg.public_key)
              .set_hashing_config(_hashing(ms, ignored)))
    try:
        config.verify(target, signature)
    except Exception as exc:  # noqa: BLE001 (any failure means: not signed by this key)
        return _why(exc)
    return ""


# -- versions -------------------------------------------------------------------------------------

def sign_version(reg: Any, folder: Path) -> None:
    """Sign a staged version folder (every file, the manifest included), when ``reg`` has a key.

    Called by publishing right before the folder is renamed into its number; the signature
    goes to ``folder/course_signature.sig`` and is flushed to disk with the folder.

    >>> class Reg: signing_key = None
    >>> sign_version(Reg(), Path("no/key/nothing/signed"))
    """
    if getattr(reg, "signing_key", None) is None:
        return
    signature = folder / SIGNATURE_NAME
    with _fs.disk(f"write the signature {signature}"):
        _sign(reg, folder, signature, [SIGNATURE_NAME])
        _fs.sha256(signature, sync=True)
        _fs.fsync_dir(folder)


@dataclass(frozen=True, repr=False)
class SignedVerifyReport(VerifyReport):
    """What :meth:`ModelRegistry.verify` found: the files against the manifest, and the signature.

    >>> ok = SignedVerifyReport("fraud", 2, Path("r/fraud/2"), 5, (), Path("keys/registry.pub"))
    >>> print(ok)
    fraud version 2: OK (5 files match the sha256 and size in the manifest); signed: the signature holds (public key registry.pub)

    Without a public key (``public_key`` None) no signature is checked and the verdict says
    so: the checksums catch accidents, not a writer who recomputes them.
    ``signature_problem`` is "" when the signature holds (or was not checked).
    """

    public_key: Path | None = None
    signature_problem: str = ""

    @property
    def verdict(self) -> str:
        """One line: OK or FAILED with the files named, and what the signature says."""
        base = super().verdict
        if not self.ok:
            return base
        if self.public_key is None:
            return f"{base}; {UNSIGNED_NOTE}"
        return f"{base}; signed: the signature holds (public key {self.public_key.name})"

    def raise_if_failed(self, doing: str) -> VerifyReport:
        """Raise :class:`SignatureError` (the signature) or :class:`IntegrityError` (a file)."""
        if self.signature_problem:
            raise SignatureError(
                f"expected {self.name} version {self.version} to be signed by the registry key "
                f"(public key {self.public_key}) before {doing}; it is not: its signature "
                f"({SIGNATURE_NAME}) {self.signature_problem}. Its sha256 checksums prove nothing "
                "here: whoever changed the files could recompute them. Fix: do not use this "
                "version; restore it "
                "from a trusted copy, or publish the model again from a registry holding the "
                "signing key (ModelRegistry(root, signing_key=..., public_key=...)).",
                report=self,
            )
        return super().raise_if_failed(doing)


def _signature_problem(reg: Any, folder: Path) -> str:
    signature = folder / SIGNATURE_NAME
    if folder.is_symlink() or not folder.is_dir():
        return "is missing: there is no version folder to check"
    if signature.is_symlink() or not signature.is_file():
        return ("is missing: the version was published without the signing key, or its "
                "signature was removed")
    why = _verify(reg, folder, signature, [SIGNATURE_NAME])
    return f"does not hold: {why}" if why else ""


def checked(reg: Any, report: VerifyReport) -> SignedVerifyReport:
    """``report`` (the files against the manifest) plus the signature, against ``reg.public_key``.

    The signature file itself is not in the manifest (it covers the manifest), so it is
    not reported as an unexpected file. Without a public key nothing more is checked.

    >>> class Reg: public_key = None
    >>> checked(Reg(), VerifyReport("fraud", 1, Path("r/fraud/1"), 4, ())).ok
    True
    """
    problems = tuple(p for p in report.problems
                     if not (p.path == SIGNATURE_NAME and p.problem.startswith("unexpected")))
    public_key = getattr(reg, "public_key", None)
    why = "" if public_key is None else _signature_problem(reg, report.path)
    if why:
        problems += (FileProblem(SIGNATURE_NAME, f"signature {why}"),)
    return SignedVerifyReport(report.name, report.version, report.path, report.files_checked,
                              problems, public_key, why)


def refuse_unsigned(report: VerifyReport, doing: str) -> None:
    """Raise :class:`SignatureError` when ``report``'s signature does not hold (else nothing).

    >>> refuse_unsigned(VerifyReport("fraud", 1, Path("r/fraud/1"), 4, ()), "promoting it")
    """
    if isinstance(report, SignedVerifyReport) and report.signature_problem:
        report.raise_if_failed(doing)


# -- alias files --------------------------------------------------------------------------------

def _alias_statement(name: str, body: dict[str, Any]) -> bytes:
    """The bytes a signature of an alias file covers: the model's name and the file's content."""
    content = {k: v for k, v in body.items() if k != SIGNATURE_FIELD}
    return canonical({"model": name, "aliases_file": content})


def seal_aliases(reg: Any, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (the content of ``aliases.json``) with its signature, when ``reg`` has a key.

    >>> class Reg: signing_key = None
    >>> seal_aliases(Reg(), "fraud", {"aliases": {"production": 2}, "history": {}})
    {'aliases': {'production': 2}, 'history': {}}
    """
    content = {k: v for k, v in body.items() if k != SIGNATURE_FIELD}
    if getattr(reg, "signing_key", None) is None:
        return content
    with _fs.disk("sign the aliases in a temporary folder"), \
            tempfile.TemporaryDirectory(prefix="course-lib-aliases-") as tmp:
        statement, signature = Path(tmp) / "aliases.json", Path(tmp) / "aliases.sig"
        statement.write_bytes(_alias_statement(name, content))
        _sign(reg, statement, signature, [])
        bundle = json.loads(signature.read_text(encoding="utf-8"))
    return {**content, SIGNATURE_FIELD: bundle}


def check_aliases(reg: Any, name: str, path: Path, raw: bytes) -> None:
    """Refuse the content ``raw`` of ``path`` unless the registry key signed it (with a public key).

    ``raw`` was read and checked as an alias file already (bounded, valid JSON). Without a
    public key nothing is checked: the alias file has no checksum, so an edit by hand goes
    unnoticed.

    >>> class Reg: public_key = None
    >>> check_aliases(Reg(), "fraud", Path("fraud/aliases.json"), b'{"aliases": {}}')
    """
    if getattr(reg, "public_key", None) is None:
        return
    data = json.loads(raw.decode("utf-8"))
    bundle = data.get(SIGNATURE_FIELD) if isinstance(data, dict) else None
    if bundle is None:
        why = ("is missing: the file was written without the signing key (by an unsigned "
               "registry, or by hand)")
    else:
        with _fs.disk("check the aliases' signature in a temporary folder"), \
                tempfile.TemporaryDirectory(prefix="course-lib-aliases-") as tmp:
            statement, signature = Path(tmp) / "aliases.json", Path(tmp) / "aliases.sig"
            statement.write_bytes(_alias_statement(name, data))
            try:
                signature.write_text(json.dumps(bundle), encoding="utf-8")
            except (TypeError, ValueError):  # pragma: no cover (parsed JSON always dumps)
                signature.write_text("{}", encoding="utf-8")
            why = _verify(reg, statement, signature, [])
        if why.endswith("changed after signing"):
            why = "its content changed after signing (an edit by hand, or a writer without the key)"
        why = f"does not hold: {why}" if why else ""
    if why:
        raise SignatureError(
            f"expected {path} to be signed by the registry key (public key {reg.public_key}); it "
            f"is not: its signature {why}. Its aliases (which version is production) cannot be "
            "trusted. Fix: "
            "find out who changed it; then set the aliases again from a registry holding the "
            "signing key (ModelRegistry(root, signing_key=..., public_key=...)), or restore "
            "the file from a trusted copy."
        )

