"""Signed versions and alias files (course_lib.registry.signing, the hooks in the registry)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest
from registry_helpers import ENV, SEED_V1, SEED_V2, WORSE_RECALL, toy_set

from course_lib import teaching
from course_lib.cli import main as cli
from course_lib.errors import (
    IntegrityError,
    InvalidInputError,
    MissingDependencyError,
    PromotionRefusedError,
    SignatureError,
    StorageError,
)
from course_lib.registry import ModelRegistry, PromotionPolicy
from course_lib.registry.names import ALIASES_NAME
from course_lib.registry.signing import SIGNATURE_NAME, SignedVerifyReport, make_keys

GATE = PromotionPolicy(min_recall=0.80)


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


@pytest.fixture
def signed(tmp_path, keys, src):
    """A signed registry: version 1 (seed v1, production), 2 (seed v2), 3 (low recall)."""
    reg = ModelRegistry(tmp_path / "registry", signing_key=keys.private, public_key=keys.public)
    s = toy_set()
    for metrics in (SEED_V1, SEED_V2, WORSE_RECALL):
        reg.publish_saved_model(src, "fraud", s, metrics=metrics, latency_ms=1.0)
    reg.promote("fraud", 1)
    return reg


def reader(reg, keys):
    """The same folder, opened by someone holding only the public key."""
    return ModelRegistry(reg.root, public_key=keys.public)


class TestForgedVersion:
    def test_passes_the_checksums_of_an_unsigned_registry(self, two):
        """What checksums alone cannot catch: new weights and metrics, hashes recomputed."""
        two.promote("fraud", 1)
        teaching.forge_version(two.path("fraud", 2), recall=0.99)
        assert two.verify("fraud", 2).ok
        assert two.promote("fraud", 2, policy=GATE).ok

    def test_is_refused_by_verify_when_signed(self, signed, keys):
        teaching.forge_version(signed.path("fraud", 2))
        report = reader(signed, keys).verify("fraud", 2)
        assert not report.ok and "variables/variables.data-00000-of-00001 changed after signing" \
            in report.verdict

    def test_load_raises_signature_error_naming_the_file(self, signed, keys):
        teaching.forge_version(signed.path("fraud", 2))
        with pytest.raises(SignatureError, match=r"before loading it; it is not: its signature "
                           r"\(course_signature.sig\) does not hold: course_manifest.json, "
                           r"variables/.* changed after "
                           r"signing.*Fix: do not use this version"):
            reader(signed, keys).load("fraud", 2)

    def test_forged_metrics_are_refused_by_promote_with_the_key(self, signed, keys):
        teaching.forge_version(signed.path("fraud", 3), recall=0.99)
        reg = reader(signed, keys)
        with pytest.raises(SignatureError, match="course_manifest.json, variables/"):
            reg.promote("fraud", 3, policy=GATE)
        assert reg.aliases("fraud") == {"production": 1}

    def test_an_added_file_is_refused(self, signed, keys):
        (signed.path("fraud", 2) / "assets" / "extra.txt").write_text("x")
        report = reader(signed, keys).verify("fraud", 2)
        assert "assets/extra.txt added after signing" in report.verdict

    def test_a_signature_holds_for_an_untouched_version(self, signed, keys):
        report = reader(signed, keys).verify("fraud", 2)
        assert report.ok and report.verdict.endswith(
            "signed: the signature holds (public key registry.pub)")


class TestUnsignedVersion:
    def test_is_refused_when_a_public_key_is_given(self, two, keys):
        with pytest.raises(SignatureError, match=r"signature \(course_signature.sig\) is missing: "
                           "the version was published without the signing key"):
            ModelRegistry(two.root, public_key=keys.public).load("fraud", 1)

    def test_its_verdict_says_what_checksums_catch(self, two):
        assert two.verify("fraud", 1).verdict.endswith(
            "checksums only: they catch accidents, not someone who recomputes them")

    def test_a_failing_check_names_the_limit_of_checksums(self, two):
        teaching.flip_byte(two.path("fraud", 1) / "saved_model.pb")
        with pytest.raises(IntegrityError, match="not a writer who recomputes them") as caught:
            two.load("fraud", 1)
        assert type(caught.value) is IntegrityError

    def test_a_signed_registry_without_public_key_checks_only_checksums(self, signed):
        plain = ModelRegistry(signed.root)
        teaching.forge_version(signed.path("fraud", 2))
        assert plain.verify("fraud", 2).ok


class TestWrongKey:
    def test_another_public_key_is_refused(self, signed, tmp_path):
        other = make_keys(tmp_path / "other")
        with pytest.raises(SignatureError, match="signed with another key"):
            ModelRegistry(signed.root, public_key=other.public).load("fraud", 2)

    def test_a_pair_that_does_not_match_is_refused(self, keys, tmp_path):
        other = make_keys(tmp_path / "other")
        with pytest.raises(InvalidInputError, match="belongs to another key"):
            ModelRegistry(tmp_path / "r", signing_key=keys.private, public_key=other.public)

    def test_a_public_key_given_as_signing_key_is_refused(self, keys, tmp_path):
        with pytest.raises(InvalidInputError, match=r"expected signing_key \(a private key\)"):
            ModelRegistry(tmp_path / "r", signing_key=keys.public)

    def test_a_missing_key_file_is_refused(self, tmp_path):
        with pytest.raises(InvalidInputError, match="does not exist.*keygen"):
            ModelRegistry(tmp_path / "r", public_key=tmp_path / "nosuch.pub")
        assert not (tmp_path / "r").exists()

    def test_a_private_key_others_can_read_is_refused(self, keys, tmp_path):
        keys.private.chmod(0o644)
        with pytest.raises(InvalidInputError, match="chmod 600"):
            ModelRegistry(tmp_path / "r", signing_key=keys.private, public_key=keys.public)

    def test_a_signing_key_needs_its_public_key(self, keys, tmp_path):
        """A registry that signs checks first: it never signs over an edited alias file."""
        with pytest.raises(InvalidInputError, match="expected public_key= beside signing_key="):
            ModelRegistry(tmp_path / "r", signing_key=keys.private)


class TestAliases:
    def test_a_hand_edited_alias_file_is_refused(self, signed, keys):
        p = signed.root / "fraud" / ALIASES_NAME
        data = json.loads(p.read_text())
        data["aliases"]["production"] = 3
        p.write_text(json.dumps(data))
        with pytest.raises(SignatureError, match="aliases.json to be signed.*its content changed "
                                                 "after signing"):
            reader(signed, keys).aliases("fraud")

    def test_an_alias_file_without_signature_is_refused(self, two, keys):
        two.promote("fraud", 1)
        with pytest.raises(SignatureError, match="signature is missing"):
            ModelRegistry(two.root, public_key=keys.public).resolve("fraud", "production")

    def test_a_signed_alias_file_of_another_model_is_refused(self, signed, keys, src):
        signed.publish_saved_model(src, "churn", toy_set(), metrics=SEED_V1, latency_ms=1.0)
        signed.promote("churn", 1)
        (signed.root / "churn" / ALIASES_NAME).write_bytes(
            (signed.root / "fraud" / ALIASES_NAME).read_bytes())
        with pytest.raises(SignatureError, match="churn/aliases.json"):
            reader(signed, keys).aliases("churn")

    def test_every_change_is_signed(self, signed, keys):
        signed.promote("fraud", 2, policy=GATE)
        signed.set_alias("fraud", "candidate", 3)
        signed.remove_alias("fraud", "candidate")
        signed.rollback("fraud")
        assert reader(signed, keys).aliases("fraud") == {"production": 1}

    def test_a_registry_without_the_key_reads_signed_aliases(self, signed):
        assert ModelRegistry(signed.root).aliases("fraud") == {"production": 1}


class TestPublishing:
    def test_the_signature_is_in_the_version_folder(self, signed):
        assert (signed.path("fraud", 1) / SIGNATURE_NAME).is_file()
        assert SIGNATURE_NAME not in signed.get("fraud", 1).files

    def test_republishing_a_signed_version_signs_the_copy(self, signed, keys):
        v = signed.publish_saved_model(signed.path("fraud", 2), "fraud", toy_set(),
                                       metrics=SEED_V2, latency_ms=1.0)
        assert reader(signed, keys).verify("fraud", v.version).ok

    def test_a_full_disk_while_signing_publishes_nothing(self, signed, src, monkeypatch):
        from course_lib.registry import signing

        def full(*args):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(signing, "_sign", full)
        with pytest.raises(StorageError, match="write the signature .*no space is left"):
            signed.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V2, latency_ms=1.0)
        assert signed.versions("fraud") == [1, 2, 3]
        assert not [p for p in (signed.root / "fraud").iterdir() if ".staging" in p.name]

    def test_verify_returns_the_signed_report(self, signed, keys):
        assert isinstance(reader(signed, keys).verify("fraud", 1), SignedVerifyReport)

    def test_a_symlink_added_to_a_version_is_refused(self, signed, keys, tmp_path):
        (tmp_path / "outside").write_text("x")
        os.symlink(tmp_path / "outside", signed.path("fraud", 2) / "assets" / "link")
        with pytest.raises(SignatureError, match="symbolic link"):
            reader(signed, keys).load("fraud", 2)

    def test_check_gate_refuses_before_any_rule(self, signed, keys):
        teaching.forge_version(signed.path("fraud", 3), recall=0.99)
        with pytest.raises(SignatureError, match="before applying the promotion policy"):
            reader(signed, keys).check_gate("fraud", 3, GATE)

    def test_an_unsigned_refusal_stays_a_promotion_refusal(self, signed, keys):
        with pytest.raises(PromotionRefusedError, match="recall"):
            reader(signed, keys).promote("fraud", 3, policy=GATE)


class TestKeys:
    def test_the_private_key_is_readable_by_its_owner_only(self, keys):
        assert keys.private.stat().st_mode & 0o777 == 0o600
        assert keys.public.read_text().startswith("-----BEGIN PUBLIC KEY-----")

    def test_keys_are_never_overwritten(self, keys):
        before = keys.private.read_bytes()
        with pytest.raises(InvalidInputError, match="never overwritten"):
            make_keys(keys.private.parent)
        assert keys.private.read_bytes() == before

    def test_a_missing_dependency_names_the_pip_command(self, tmp_path, monkeypatch):
        monkeypatch.setitem(sys.modules, "model_signing", None)
        with pytest.raises(MissingDependencyError, match=r"pip install 'course-lib\[signing\]' "
                                                         r"\(model-signing==1.1.1 and pyopenssl\)"):
            make_keys(tmp_path / "keys")

    def test_importing_course_lib_does_not_import_model_signing(self):
        code = ("import sys, course_lib, course_lib.registry; "
                "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                "('model_signing', 'OpenSSL', 'cryptography', 'sigstore')))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=ENV, check=True, timeout=120).stdout
        assert out.strip() == "[]"


class TestCommandLine:
    def test_keygen_makes_a_pair(self, tmp_path, capsys):
        assert cli(["registry", "keygen", str(tmp_path / "k")]) == 0
        assert (tmp_path / "k" / "registry.key").stat().st_mode & 0o777 == 0o600
        assert "registry.pub" in capsys.readouterr().out

    def test_verify_with_the_public_key_refuses_a_forgery(self, signed, keys, capsys):
        teaching.forge_version(signed.path("fraud", 2))
        code = cli(["registry", "verify", str(signed.root), "fraud", "--public-key",
                    str(keys.public)])
        out = capsys.readouterr().out
        assert code == 1 and "fraud version 1: OK" in out and "changed after signing" in out

    def test_promote_signs_the_alias_change(self, signed, keys):
        assert cli(["registry", "promote", str(signed.root), "fraud", "2", "--min-recall", "0.8",
                    "--public-key", str(keys.public), "--signing-key", str(keys.private)]) == 0
        assert reader(signed, keys).aliases("fraud") == {"production": 2}

    def test_show_with_the_public_key_refuses_an_unsigned_version(self, two, keys, capsys):
        code = cli(["registry", "show", str(two.root), "fraud", "1", "--public-key",
                    str(keys.public)])
        assert code == 1 and "signature (course_signature.sig) is missing" in \
            capsys.readouterr().err
