"""The transfer package: sealed for one buyer, signed by the seller, refused whole when any
part of it is not what the manifest says."""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tracemalloc
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from transfer import package
from transfer.package import PackageRefused

MARKER = "Lin Xiaoyu 林晓雨 peanut allergy"
PHOTO = b"\xff\xd8\xff\xe0 photo bytes " + bytes(range(256)) * 8


def sample_entries(clients: int = 30):
    for n in range(clients):
        client_id = f"00000000-0000-4000-8000-{n:012d}"
        yield "record", "client", {"id": client_id, "code": f"C{n:04d}", "full_name": MARKER,
                                   "birthday": None, "location": "JA"}
        yield "record", "treatment", {"id": f"10000000-0000-4000-8000-{n:012d}",
                                      "client_id": client_id, "price": "380.00",
                                      "products": ["Olaplex No.3"]}
        if n % 10 == 0:
            yield "file", f"files/photos/{client_id}.jpg", PHOTO + bytes([n])


@pytest.fixture(scope="module")
def buyer():
    return package.keygen()  # (identity, recipient)


@pytest.fixture(scope="module")
def seller():
    return Ed25519PrivateKey.generate()


def build(buyer, seller, entries=None, **kwargs) -> bytes:
    out = io.BytesIO()
    package.write(out, recipient=buyer[1], signer=seller, header={"case_id": "case-1"},
                  entries=sample_entries() if entries is None else entries,
                  chunk_records=kwargs.pop("chunk_records", 7), **kwargs)
    return out.getvalue()


@pytest.fixture(scope="module")
def sealed(buyer, seller) -> bytes:
    return build(buyer, seller)


def members(sealed: bytes, identity: str) -> list[tuple[str, bytes]]:
    # Tests may hold the plaintext in memory; the module never does.
    plain = pyrage.decrypt(sealed, [package.parse_identity(identity)])
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]


def craft(recipient: str, items: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with package.seal(out, recipient) as stream:
        tar = package.TarWriter(stream, mtime=0)
        for name, data in items:
            tar.add(name, data)
        tar.close()
    return out.getvalue()


def resigned(items, signer, edit) -> list[tuple[str, bytes]]:
    manifest = json.loads(dict(items)[package.MANIFEST])
    edit(manifest)
    body, signature = package.signed(manifest, signer)
    return [(n, d) for n, d in items if n not in (package.MANIFEST, package.SIGNATURE)] + [
        (package.MANIFEST, body), (package.SIGNATURE, signature)]


def refusal(data: bytes, buyer, seller_key=None, **kwargs) -> str:
    with pytest.raises(PackageRefused) as caught:
        package.verify(io.BytesIO(data), identity=buyer[0], seller_key=seller_key, **kwargs)
    return str(caught.value)


# ---- the round trip ---------------------------------------------------------------------

def test_round_trip_gives_back_every_record_and_file_byte(buyer, seller, sealed):
    manifest = package.verify(io.BytesIO(sealed), identity=buyer[0],
                              seller_key=seller.public_key(), expected_recipient=buyer[1])
    got = list(package.entries(io.BytesIO(sealed), identity=buyer[0], manifest=manifest))
    want = list(sample_entries())
    key = lambda e: (e[0], e[1], json.dumps(e[2], sort_keys=True) if e[0] == "record" else e[2])  # noqa: E731
    assert sorted(map(key, got)) == sorted(map(key, want))
    for kind in ("client", "treatment"):  # each type keeps its order
        assert [e for e in got if e[1] == kind] == [e for e in want if e[1] == kind]
    assert manifest["counts"] == {"client": 30, "treatment": 30}
    assert manifest["files"] == 3
    assert manifest["header"] == {"case_id": "case-1"}


def test_the_tar_is_chunked_and_ends_with_the_manifest_and_its_signature(buyer, sealed):
    names = [name for name, _ in members(sealed, buyer[0])]
    assert names[-2:] == ["manifest.json", "manifest.sig"]
    assert [n for n in names if n.startswith("records/client/")] == [
        f"records/client/{n:06d}.jsonl" for n in range(1, 6)]  # 30 records, 7 a chunk
    manifest = json.loads(dict(members(sealed, buyer[0]))["manifest.json"])
    assert [part["path"] for part in manifest["parts"]] == names[:-2]
    assert [p["records"] for p in manifest["parts"] if "client/" in p["path"]] == [7, 7, 7, 7, 2]


def test_records_are_sorted_json_lines_in_utf8(buyer, sealed):
    chunk = dict(members(sealed, buyer[0]))["records/client/000001.jsonl"]
    first = chunk.decode("utf-8").splitlines()[0]
    assert MARKER in first  # ensure_ascii=False
    assert list(json.loads(first)) == sorted(json.loads(first))


def test_the_package_bytes_hold_no_plaintext(sealed):
    assert sealed.startswith(b"age-encryption.org/v1\n")
    for needle in (MARKER.encode(), "林晓雨".encode(), b"Olaplex", b"manifest", PHOTO[:16]):
        assert needle not in sealed


def test_progress_is_told_how_many_entries_went_in(buyer, seller):
    seen: list[int] = []
    build(buyer, seller, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == len(list(sample_entries()))


# ---- what is refused, and how it is said ------------------------------------------------

def test_a_tampered_byte_is_refused(buyer, sealed):
    damaged = bytearray(sealed)
    damaged[len(damaged) // 2] ^= 0x01
    assert "damaged or truncated" in refusal(bytes(damaged), buyer)


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_a_truncated_file_is_refused(buyer, sealed, keep):
    assert "damaged or truncated" in refusal(sealed[:int(len(sealed) * keep)], buyer)


def test_a_package_for_another_recipient_is_refused(seller, sealed):
    stranger = package.keygen()
    assert "not addressed to this identity" in refusal(sealed, stranger)


def test_garbage_is_refused(buyer):
    assert "not a sealed transfer package" in refusal(b"PK\x03\x04 not an age file", buyer)


def test_a_package_signed_by_another_seller_key_is_refused(buyer, sealed):
    other = Ed25519PrivateKey.generate().public_key()
    message = refusal(sealed, buyer, seller_key=other)
    assert message.startswith("signed by another key (fingerprint ")
    assert f"expected {package.fingerprint(other)})" in message


def test_a_manifest_edited_and_resigned_by_another_key_is_refused(buyer, seller, sealed):
    forger = Ed25519PrivateKey.generate()

    def edit(manifest):
        manifest["header"]["seller"] = "someone else"
        manifest["seller_key"] = package.public_key_text(forger.public_key())
        manifest["seller_fingerprint"] = package.fingerprint(forger.public_key())

    forged = craft(buyer[1], resigned(members(sealed, buyer[0]), forger, edit))
    message = refusal(forged, buyer, seller_key=seller.public_key())
    assert message == (f"signed by another key (fingerprint "
                       f"{package.fingerprint(forger.public_key())}, expected "
                       f"{package.fingerprint(seller.public_key())})")


def test_a_manifest_edited_under_the_sellers_name_does_not_verify(buyer, seller, sealed):
    forger = Ed25519PrivateKey.generate()
    forged = craft(buyer[1], resigned(members(sealed, buyer[0]), forger,
                                      lambda m: m["header"].update(seller="someone else")))
    assert "the signature does not verify" in refusal(forged, buyer, seller.public_key())


def test_a_member_added_is_refused(buyer, seller, sealed):
    items = members(sealed, buyer[0])
    items.insert(2, ("files/photos/extra.jpg", b"not from the seller"))
    message = refusal(craft(buyer[1], items), buyer, seller.public_key())
    assert message == "unexpected member files/photos/extra.jpg: not in the manifest"


def test_a_member_after_the_signature_is_refused(buyer, seller, sealed):
    items = [*members(sealed, buyer[0]), ("files/late.jpg", b"x")]
    assert refusal(craft(buyer[1], items), buyer, seller.public_key()) == (
        "unexpected member files/late.jpg: after the manifest signature")


def test_a_member_with_a_name_outside_the_format_is_refused(buyer, seller, sealed):
    items = [("../../etc/passwd", b"x"), *members(sealed, buyer[0])]
    assert refusal(craft(buyer[1], items), buyer, seller.public_key()).startswith(
        "unexpected member ../../etc/passwd")


def test_a_member_removed_is_refused(buyer, seller, sealed):
    items = [(n, d) for n, d in members(sealed, buyer[0]) if n != "records/treatment/000002.jsonl"]
    assert refusal(craft(buyer[1], items), buyer, seller.public_key()) == (
        "part records/treatment/000002.jsonl is missing")


def test_a_part_changed_under_the_signed_manifest_is_refused(buyer, seller, sealed):
    items = [(n, d.replace(b"380.00", b"999.00") if n == "records/treatment/000003.jsonl" else d)
             for n, d in members(sealed, buyer[0])]
    assert refusal(craft(buyer[1], items), buyer, seller.public_key()) == (
        "part records/treatment/000003.jsonl: SHA-256 does not match the manifest")


def test_a_package_without_its_manifest_is_refused_as_truncated(buyer, seller, sealed):
    items = members(sealed, buyer[0])[:-2]
    assert refusal(craft(buyer[1], items), buyer) == "truncated: the manifest is missing"
    items = members(sealed, buyer[0])[:-1]
    assert "manifest signature (manifest.sig) is missing" in refusal(craft(buyer[1], items), buyer)


def test_a_package_resealed_for_someone_else_is_refused(buyer, seller, sealed):
    # The seller's signed manifest names the buyer; a copy re-sealed for a third party is
    # not theirs to import.
    third = package.keygen()
    resealed = craft(third[1], members(sealed, buyer[0]))
    assert "the signed manifest names another recipient" in refusal(
        resealed, third, seller.public_key())


def test_the_expected_recipient_is_checked(buyer, seller, sealed):
    other = package.keygen()[1]
    assert refusal(sealed, buyer, seller.public_key(), expected_recipient=other).startswith(
        "addressed to recipient ")


def test_a_writer_that_fails_leaves_a_file_that_does_not_decrypt(buyer, seller):
    def failing():
        yield from sample_entries(10)
        raise RuntimeError("database went away")

    out = io.BytesIO()
    with pytest.raises(RuntimeError, match="database went away"):
        package.write(out, recipient=buyer[1], signer=seller, header={}, entries=failing())
    assert "damaged or truncated" in refusal(out.getvalue(), buyer)


def test_entries_notice_a_package_swapped_between_passes(buyer, seller, sealed, tmp_path):
    path = tmp_path / "package.age"
    path.write_bytes(sealed)
    manifest = package.verify(path, identity=buyer[0], seller_key=seller.public_key())
    path.write_bytes(build(buyer, seller))  # same seller and buyer, another package
    with pytest.raises(PackageRefused, match="changed since it was verified"):
        list(package.entries(path, identity=buyer[0], manifest=manifest))


def test_entries_notice_one_part_changed_between_passes(buyer, seller, sealed, tmp_path):
    path = tmp_path / "package.age"
    path.write_bytes(sealed)
    manifest = package.verify(path, identity=buyer[0], seller_key=seller.public_key())
    items = [(n, d.replace(b"C0008", b"C0009") if n == "records/client/000002.jsonl" else d)
             for n, d in members(sealed, buyer[0])]
    path.write_bytes(craft(buyer[1], items))
    with pytest.raises(PackageRefused, match=r"^part records/client/000002.jsonl: SHA-256"):
        list(package.entries(path, identity=buyer[0], manifest=manifest))


# ---- memory -----------------------------------------------------------------------------

class Discard:
    def write(self, data: bytes) -> int:
        return len(data)


def peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def many(n: int):
    for i in range(n):
        yield "record", "treatment", {"id": f"{i:08d}", "notes": "cut and colour " * 8,
                                      "products": ["a", "b"], "price": "120.00"}


def test_writing_keeps_memory_flat_in_the_number_of_records(buyer, seller):
    def write(n):
        return lambda: package.write(Discard(), recipient=buyer[1], signer=seller, header={},
                                     entries=many(n), chunk_records=500)

    small, large = peak(write(2_000)), peak(write(20_000))
    assert large < small * 1.5, (small, large)


def test_verifying_keeps_memory_flat_in_the_number_of_records(buyer, seller, tmp_path):
    paths = {}
    for n in (2_000, 20_000):
        paths[n] = tmp_path / f"{n}.age"
        with open(paths[n], "wb") as fh:
            package.write(fh, recipient=buyer[1], signer=seller, header={}, entries=many(n),
                          chunk_records=500)

    def read(n):
        def run():
            manifest = package.verify(paths[n], identity=buyer[0], seller_key=None)
            assert sum(1 for _ in package.entries(paths[n], identity=buyer[0],
                                                  manifest=manifest)) == n
        return run

    small, large = peak(read(2_000)), peak(read(20_000))
    assert large < small * 1.5, (small, large)


# ---- keys -------------------------------------------------------------------------------

def test_the_keypair_is_written_private_and_never_overwritten(tmp_path):
    identity_path, recipient_path, recipient = package.write_keypair(tmp_path / "keys")
    assert stat.S_IMODE(identity_path.stat().st_mode) == 0o600
    lines = identity_path.read_text().splitlines()
    assert lines[0].startswith("# created: ") and lines[1] == f"# public key: {recipient}"
    assert lines[2].startswith("AGE-SECRET-KEY-1")
    assert package.parse_recipient(recipient_path.read_text()) == recipient
    assert str(package.load_identity(identity_path).to_public()) == recipient
    before = identity_path.read_bytes()
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        package.write_keypair(tmp_path / "keys")
    assert identity_path.read_bytes() == before


def test_a_recipient_fingerprint_is_sixteen_hex_digits_in_fours(buyer):
    fingerprint = package.recipient_fingerprint(buyer[1])
    groups = fingerprint.split(" ")
    assert [len(g) for g in groups] == [4, 4, 4, 4]
    assert "".join(groups) == package.hashlib.sha256(buyer[1].encode()).hexdigest()[:16]


@pytest.mark.parametrize("text", ["", "age1nope", "AGE-SECRET-KEY-1ABC", "age1a\nage1b"])
def test_what_is_not_a_recipient_is_refused(text):
    with pytest.raises(package.InvalidKey):
        package.parse_recipient(text)


def test_the_module_stands_alone_without_django():
    source = Path(package.__file__).read_text()
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in (node.names if isinstance(node, ast.Import)
                              else [ast.alias(node.module or "")])}
    assert imported <= set(sys.stdlib_module_names) | {"__future__", "cryptography", "pyrage"}


def test_the_copied_module_verifies_and_opens_from_the_command_line(buyer, seller, sealed,
                                                                    tmp_path):
    shutil.copy(package.__file__, tmp_path / "package.py")
    (tmp_path / "pkg.age").write_bytes(sealed)
    (tmp_path / "identity.txt").write_text(buyer[0] + "\n")
    key = package.public_key_text(seller.public_key())
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "package.py", *args], cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": os.environ["PATH"]}, check=False)
    verified = run("verify", "pkg.age", "--identity", "identity.txt", "--seller-key", key)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("valid: package ") and verified.stderr == ""
    opened = run("open", "pkg.age", "--identity", "identity.txt", "--out", "open")
    assert opened.returncode == 0 and "WARNING: the seller's key was not pinned" in opened.stderr
    assert (tmp_path / "open" / "manifest.sig").exists()
    refused = run("verify", "pkg.age", "--identity", "identity.txt", "--seller-key",
                  package.public_key_text(Ed25519PrivateKey.generate().public_key()))
    assert refused.returncode == 1 and refused.stderr.startswith("REFUSED: signed by another")


def test_the_standard_age_tool_opens_the_package(buyer, sealed, tmp_path):
    """What docs/transfer-format.md promises a buyer on other software. The `age` tool is
    Debian's package (.ci/run installs it); outside CI a machine without it skips."""
    if shutil.which("age") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the age tool is required in CI")
        pytest.skip("the age tool is not installed")
    (tmp_path / "identity.txt").write_text(buyer[0] + "\n")
    (tmp_path / "pkg.age").write_bytes(sealed)
    plain = subprocess.run(["age", "-d", "-i", "identity.txt", "pkg.age"], cwd=tmp_path,
                           capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        assert tar.getnames()[-2:] == ["manifest.json", "manifest.sig"]


# ---- the management commands ------------------------------------------------------------

def test_transfer_keygen_prints_the_public_key_and_ends_with_its_fingerprint(tmp_path):
    out = io.StringIO()
    call_command("transfer_keygen", "--out", str(tmp_path / "keys"), stdout=out)
    lines = out.getvalue().splitlines()
    recipient = (tmp_path / "keys" / "recipient.txt").read_text().splitlines()[-1]
    assert any(line.endswith(recipient) for line in lines)
    assert lines[-1].endswith(package.recipient_fingerprint(recipient))
    assert "fingerprint" in lines[-1]
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("transfer_keygen", "--out", str(tmp_path / "keys"), stdout=io.StringIO())


@pytest.fixture
def on_disk(buyer, seller, sealed, tmp_path):
    (tmp_path / "pkg.age").write_bytes(sealed)
    (tmp_path / "identity.txt").write_text(buyer[0] + "\n")
    (tmp_path / "seller.pub").write_text(package.public_key_text(seller.public_key()) + "\n")
    return tmp_path


def open_command(folder: Path, out: Path, *extra: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("transfer_open", str(folder / "pkg.age"), "--identity",
                 str(folder / "identity.txt"), "--out", str(out), *extra, stdout=stdout,
                 stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_transfer_open_writes_the_open_format(on_disk, buyer, sealed):
    out = on_disk / "opened"
    stdout, stderr = open_command(on_disk, out, "--seller-key", str(on_disk / "seller.pub"))
    assert "opened package " in stdout and stderr == ""
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(name for name, _ in members(sealed, buyer[0]))
    for name, data in members(sealed, buyer[0]):
        assert (out / name).read_bytes() == data
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600


def test_transfer_open_without_the_sellers_key_warns_with_its_fingerprint(on_disk, seller):
    _, stderr = open_command(on_disk, on_disk / "opened")
    assert "seller's key was not pinned" in stderr
    assert package.fingerprint(seller.public_key()) in stderr


def test_transfer_open_refuses_a_directory_that_is_not_empty(on_disk):
    out = on_disk / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="is not an empty directory"):
        open_command(on_disk, out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_transfer_open_writes_nothing_for_a_refused_package(on_disk):
    wrong_key = package.public_key_text(Ed25519PrivateKey.generate().public_key())
    out = on_disk / "empty"
    out.mkdir()
    with pytest.raises(CommandError, match="refused: signed by another key"):
        open_command(on_disk, out, "--seller-key", wrong_key)
    assert list(out.iterdir()) == []
    assert sorted(p.name for p in on_disk.iterdir()) == [
        "empty", "identity.txt", "pkg.age", "seller.pub"]  # no staging left beside it
