"""A transfer package: the client base of a sold salon, sealed for its buyer.

Like records/certificate_file.py, this module needs only the standard library,
`cryptography` and `pyrage`, so a buyer can copy it out and run it on its own:

    python package.py keygen --out DIR
    python package.py verify PACKAGE --identity DIR/identity.txt [--seller-key KEY]
    python package.py open PACKAGE --identity DIR/identity.txt --out DIR2 [--seller-key KEY]

A package is an age file (X25519, one recipient: the buyer) around a POSIX tar stream, so
the standard tools open it too: `age -d -i identity.txt PACKAGE | tar x`. The tar holds
`records/<type>/<NNNNNN>.jsonl` chunks of JSON Lines, the files under `files/`, then
`manifest.json` (canonical JSON: what every part's size and SHA-256 are, who it is for,
who sent it) and `manifest.sig` (the seller's Ed25519 signature over manifest.json's exact
bytes, in hex). docs/transfer-format.md describes the format for other software.

One file on purpose, longer than the house's usual module: a buyer copies one file.

Writing and reading stream: the tar goes through a pipe to or from age in a helper thread,
so memory stays flat in the number of records and no plaintext is written to disk until
`open_to` writes the verified open format where it is asked to.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import datetime as dt
import decimal
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

import pyrage
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pyrage import x25519

FORMAT = "salon-vault-transfer-1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
_RECORD_PART = re.compile(r"records/([a-z][a-z0-9_]{0,39})/(\d{6})\.jsonl")
# Segments start with a letter or digit, so "..", "." and hidden names cannot occur.
_FILE_PART = re.compile(r"files(?:/[A-Za-z0-9][A-Za-z0-9._-]{0,99}){1,6}")
_MAX_SMALL = 64 << 20  # manifest.json and manifest.sig are read whole: a bound for both
_BLOCK = 1 << 16

Source = str | os.PathLike | BinaryIO
Identity = x25519.Identity | str


class PackageRefused(Exception):
    """The package is not what it claims to be; the message names the part at fault."""


class InvalidKey(ValueError):
    """Text that should be a key (age recipient or identity, Ed25519 public key) is not."""


# ---- keys -------------------------------------------------------------------------------

def keygen() -> tuple[str, str]:
    """A new age identity ("AGE-SECRET-KEY-1...") and its recipient ("age1...")."""
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def write_keypair(directory: str | os.PathLike) -> tuple[Path, Path, str]:
    """identity.txt (mode 0600, as age-keygen writes it) and recipient.txt in `directory`.
    Refuses to overwrite an identity: a lost identity means a package nobody can open."""
    folder = Path(directory)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    identity_path, recipient_path = folder / "identity.txt", folder / "recipient.txt"
    secret, recipient = keygen()
    try:
        fd = os.open(identity_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FileExistsError(f"{identity_path} already exists: refusing to overwrite "
                              "an identity") from None
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fd, 0o600)  # whatever the umask
        fh.write(f"# created: {_utc_now().isoformat()}\n# public key: {recipient}\n{secret}\n")
    recipient_path.write_text(f"# fingerprint: {recipient_fingerprint(recipient)}\n"
                              f"{recipient}\n")
    return identity_path, recipient_path, recipient


def recipient_fingerprint(recipient: str) -> str:
    """What two people read to each other over the phone to agree on a recipient: the
    first 16 hex digits of SHA-256 over the recipient string, in four groups of four."""
    digest = hashlib.sha256(parse_recipient(recipient).encode("ascii")).hexdigest()[:16]
    return " ".join(digest[i:i + 4] for i in range(0, 16, 4))


def _key_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def parse_recipient(text: str) -> str:
    """An age X25519 recipient ("age1..."), alone or as recipient.txt holds it."""
    lines = _key_lines(text)
    if len(lines) != 1 or not lines[0].startswith("age1"):
        raise InvalidKey("not an age recipient (one line starting with age1)")
    try:
        x25519.Recipient.from_str(lines[0])
    except pyrage.RecipientError:
        raise InvalidKey("not an age recipient (its checksum does not match)") from None
    return lines[0]


def parse_identity(text: str) -> x25519.Identity:
    lines = [line for line in _key_lines(text) if line.startswith("AGE-SECRET-KEY-1")]
    if len(lines) != 1:
        raise InvalidKey("not an age identity file (one AGE-SECRET-KEY-1 line)")
    try:
        return x25519.Identity.from_str(lines[0])
    except pyrage.IdentityError:
        raise InvalidKey("not an age identity (its checksum does not match)") from None


def load_identity(path: str | os.PathLike) -> x25519.Identity:
    return parse_identity(Path(path).read_text())


def _identity(identity: Identity) -> x25519.Identity:
    return parse_identity(identity) if isinstance(identity, str) else identity


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """The seller key's id: the first 16 hex digits of SHA-256 over the raw public key."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(key)).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key as base64 (as printed), or as 64 hex digits."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error):
        raise InvalidKey("not an Ed25519 public key (base64 or hex)") from None


def parse_seller_key(value: str) -> Ed25519PublicKey:
    """A seller key given on a command line: the key itself, or a file that holds it."""
    path = Path(value)
    return parse_public_key(path.read_text() if path.is_file() else value)


# ---- writing ----------------------------------------------------------------------------

def canonical(value: object) -> bytes:
    """The JSON that is signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_plain).encode()


def _plain(value: object) -> str:
    # Dates ISO, ids as UUID strings, money as a decimal string: what JSON cannot say.
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class _PipeReader:
    """The read end of the pipe, for age. Once the writer gave up, the end of the pipe is
    an error, so age never finishes the file: a half-written package does not decrypt."""

    def __init__(self, fd: int) -> None:
        self.fd, self.aborted = fd, False

    def read(self, size: int = -1) -> bytes:
        data = os.read(self.fd, size if size > 0 else _BLOCK)
        if not data and self.aborted:
            raise OSError("the package was not finished")
        return data


@contextlib.contextmanager
def seal(out: BinaryIO, recipient: str) -> Iterator[BinaryIO]:
    """A stream whose bytes are sealed with age for `recipient` into `out` as they come
    (`out` is written from a helper thread)."""
    target = x25519.Recipient.from_str(parse_recipient(recipient))
    rfd, wfd = os.pipe()
    reader, failure = _PipeReader(rfd), []

    def run() -> None:
        try:
            pyrage.encrypt_io(reader, out, [target])
        except BaseException as exc:
            failure.append(exc)
        finally:
            os.close(rfd)  # the writer then sees a broken pipe, not a hang

    thread = threading.Thread(target=run, name="transfer-seal", daemon=True)
    thread.start()
    stream = os.fdopen(wfd, "wb")
    try:
        yield stream
        stream.close()
    except BaseException:
        cause = failure[:1]  # age failed first (say `out` is full): the broken pipe's cause
        reader.aborted = True
        with contextlib.suppress(OSError):
            stream.close()
        thread.join()
        if cause:
            raise cause[0] from None
        raise
    thread.join()
    if failure:
        raise failure[0]


class TarWriter:
    """Members into a POSIX (pax) tar stream, each returned as its manifest part."""

    def __init__(self, stream: BinaryIO, *, mtime: int) -> None:
        self._out: BinaryIO | None = stream
        self._tar = tarfile.open(  # noqa: SIM115 (closed by close() or abandon())
            fileobj=self, mode="w|", format=tarfile.PAX_FORMAT)
        self._mtime = mtime

    def write(self, data: bytes) -> None:  # for tarfile
        if self._out is not None:
            self._out.write(data)

    def add(self, name: str, data: bytes, *, records: int | None = None) -> dict:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), self._mtime, 0o644
        self._tar.addfile(info, io.BytesIO(data))
        part = {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        return part if records is None else {**part, "records": records}

    def close(self) -> None:
        self._tar.close()

    def abandon(self) -> None:
        """Stop without finishing the stream (tarfile would flush its buffer at exit)."""
        self._out = None
        self._tar.close()


class _Records:
    """At most one chunk of JSON Lines per record type in memory at a time."""

    def __init__(self, tar: TarWriter, limit: int) -> None:
        self.tar, self.limit = tar, limit
        self.lines: dict[str, list[bytes]] = {}
        self.counts: dict[str, int] = {}
        self.chunks: dict[str, int] = {}

    def add(self, kind: str, record: dict) -> dict | None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", kind):
            raise ValueError(f"record type {kind!r}: lower-case letters, digits and _ only")
        if not isinstance(record, dict):
            raise TypeError(f"a {kind} record must be a dict")
        lines = self.lines.setdefault(kind, [])
        lines.append(json.dumps(record, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False, allow_nan=False,
                                default=_plain).encode() + b"\n")
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return self.flush(kind) if len(lines) >= self.limit else None

    def flush(self, kind: str) -> dict | None:
        lines = self.lines.pop(kind, None)
        if not lines:
            return None
        number = self.chunks[kind] = self.chunks.get(kind, 0) + 1
        if number > 999_999:
            raise ValueError(f"too many {kind} chunks: raise chunk_records")
        return self.tar.add(f"records/{kind}/{number:06d}.jsonl", b"".join(lines),
                            records=len(lines))


def _write_entries(tar: TarWriter, entries: Iterable, chunk_records: int,
                   progress: Callable[[int], None] | None) -> tuple[list, dict, int]:
    records, parts, paths, count = _Records(tar, chunk_records), [], set(), 0
    for count, (kind, name, value) in enumerate(entries, 1):
        if kind == "record":
            part = records.add(name, value)
        elif kind == "file":
            if not _FILE_PART.fullmatch(name) or name in paths:
                raise ValueError(f"file path {name!r}: not files/..., or given twice")
            paths.add(name)
            part = tar.add(name, bytes(value))
        else:
            raise ValueError(f"unknown entry kind {kind!r}")
        if part is not None:
            parts.append(part)
            if progress:
                progress(count)
    parts += [part for kind in sorted(records.lines) if (part := records.flush(kind))]
    if progress:
        progress(count)
    return parts, records.counts, len(paths)


def signed(manifest: dict, signer: Ed25519PrivateKey) -> tuple[bytes, bytes]:
    """manifest.json (its canonical JSON) and manifest.sig (the hex signature over it)."""
    body = canonical(manifest)
    return body, signer.sign(body).hex().encode() + b"\n"


def write(out: BinaryIO, *, recipient: str, signer: Ed25519PrivateKey, header: dict,
          entries: Iterable, chunk_records: int = 1000,
          progress: Callable[[int], None] | None = None) -> dict:
    """Seal `entries` — ("record", type, dict) and ("file", "files/...", bytes) — for
    `recipient` into `out`, and return the signed manifest. `progress` is called with the
    number of entries consumed so far each time a part goes into the stream, and at the
    end. On an error `out` holds a truncated age file that does not decrypt."""
    if chunk_records < 1 or not isinstance(header, dict):
        raise ValueError("chunk_records must be positive and header a dict")
    recipient, public, now = parse_recipient(recipient), signer.public_key(), _utc_now()
    manifest = {
        "format": FORMAT, "package_id": str(uuid.uuid4()),
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "header": json.loads(canonical(header)), "recipient": recipient,
        "seller_key": public_key_text(public), "seller_fingerprint": fingerprint(public),
    }
    with seal(out, recipient) as stream:
        tar = TarWriter(stream, mtime=int(now.timestamp()))
        try:
            parts, counts, files = _write_entries(tar, entries, chunk_records, progress)
            manifest.update(counts=counts, files=files, parts=parts)
            body, signature = signed(manifest, signer)
            tar.add(MANIFEST, body)
            tar.add(SIGNATURE, signature)
        except BaseException:
            tar.abandon()
            raise
        tar.close()
    return manifest


# ---- reading ----------------------------------------------------------------------------

def _refusal(exc: BaseException) -> PackageRefused:
    if isinstance(exc, pyrage.DecryptError) and "no matching keys" in str(exc).lower():
        return PackageRefused("not addressed to this identity: it is sealed for another key")
    if isinstance(exc, pyrage.DecryptError):
        return PackageRefused(f"not a sealed transfer package, or damaged or truncated "
                              f"(age: {exc})")
    return PackageRefused("damaged or truncated: the encrypted data does not authenticate "
                          "(changed or cut short after it was sealed)")


@contextlib.contextmanager
def _source(source: Source) -> Iterator[BinaryIO]:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            yield fh
    else:
        yield source


@contextlib.contextmanager
def _plaintext(source: Source, identity: x25519.Identity) -> Iterator[BinaryIO]:
    """The decrypted tar stream, through a pipe: never on disk, never whole in memory.
    Leaving without an error means age authenticated every byte up to the end."""
    with _source(source) as sealed:
        rfd, wfd = os.pipe()
        failure: list[BaseException] = []

        def run() -> None:
            plain = os.fdopen(wfd, "wb")
            try:
                pyrage.decrypt_io(sealed, plain, [identity])
            except BaseException as exc:
                failure.append(exc)  # before the close, so the reader's EOF finds it
            finally:
                with contextlib.suppress(OSError):
                    plain.close()

        thread = threading.Thread(target=run, name="transfer-open", daemon=True)
        stream = os.fdopen(rfd, "rb")
        thread.start()
        try:
            yield stream
            _drain(stream)
        except Exception as exc:
            if failure:  # the stream ended early because age refused it: that is the cause
                raise _refusal(failure[0]) from exc
            if isinstance(exc, tarfile.TarError):
                raise PackageRefused(f"not a valid tar stream inside ({exc})") from exc
            raise
        finally:
            stream.close()
            thread.join()
        if failure:
            raise _refusal(failure[0])


def _drain(stream: BinaryIO) -> None:
    # Past the tar's end only its zero padding may follow; reading it all also lets age
    # authenticate the last chunk.
    while block := stream.read(_BLOCK):
        if block.strip(b"\0"):
            raise PackageRefused("unexpected data after the end of the tar stream")


def _members(stream: BinaryIO) -> Iterator[tuple[str, IO[bytes]]]:
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            name = member.name
            if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                raise PackageRefused(f"unexpected member {name}: not a regular file")
            if not (_RECORD_PART.fullmatch(name) or _FILE_PART.fullmatch(name)
                    or name in (MANIFEST, SIGNATURE)):
                raise PackageRefused(f"unexpected member {name}: not a name the format uses")
            yield name, tar.extractfile(member)


def _read(member: IO[bytes], name: str, limit: int = _MAX_SMALL,
          why: str = "too large") -> bytes:
    # In blocks: tarfile's read(n) sets aside n bytes whatever the member's size.
    data = bytearray()
    while block := member.read(_BLOCK):
        data += block
        if len(data) > limit:
            raise PackageRefused(f"part {name}: {why}")
    return bytes(data)


def _hash(name: str, member: IO[bytes]) -> dict:
    digest, size, lines = hashlib.sha256(), 0, 0
    while block := member.read(_BLOCK):
        digest.update(block)
        size, lines = size + len(block), lines + block.count(b"\n")
    return {"path": name, "sha256": digest.hexdigest(), "bytes": size, "lines": lines}


def _scan(source: Source, identity: x25519.Identity) -> tuple[list[dict], bytes, bytes]:
    found, body, signature = [], None, None
    with _plaintext(source, identity) as stream:
        for name, member in _members(stream):
            if signature is not None:
                raise PackageRefused(f"unexpected member {name}: after the manifest signature")
            if name == SIGNATURE and body is None:
                raise PackageRefused("manifest.sig comes before manifest.json")
            if name == MANIFEST:
                body = _read(member, name)
            elif name == SIGNATURE:
                signature = _read(member, name)
            elif body is not None:
                raise PackageRefused(f"unexpected member {name}: after the manifest")
            else:
                found.append(_hash(name, member))
    if body is None:
        raise PackageRefused("truncated: the manifest is missing")
    if signature is None:
        raise PackageRefused("truncated: the manifest signature (manifest.sig) is missing")
    return found, body, signature


def _check_signature(body: bytes, signature: bytes,
                     seller_key: Ed25519PublicKey | None) -> dict:
    try:
        manifest = json.loads(body)
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or canonical(manifest) != body:
        raise PackageRefused("manifest.json is not canonical JSON")
    try:
        named = parse_public_key(manifest["seller_key"])
    except (KeyError, AttributeError, InvalidKey):
        raise PackageRefused("manifest.json names no Ed25519 seller key") from None
    if manifest.get("seller_fingerprint") != fingerprint(named):
        raise PackageRefused("manifest.json: seller_fingerprint does not match seller_key")
    if seller_key is not None and raw_public(seller_key) != raw_public(named):
        raise PackageRefused(f"signed by another key (fingerprint {fingerprint(named)}, "
                             f"expected {fingerprint(seller_key)})")
    try:
        named.verify(bytes.fromhex(signature.decode("ascii").strip()), body)
    except (ValueError, InvalidSignature):
        raise PackageRefused(f"manifest.sig: the signature does not verify under the seller "
                             f"key {fingerprint(named)} (the manifest was changed after it "
                             "was signed)") from None
    return manifest


def _check_recipient(manifest: dict, identity: x25519.Identity,
                     expected: str | None) -> None:
    named = manifest.get("recipient")
    if named != str(identity.to_public()):
        raise PackageRefused("not addressed to this identity: the signed manifest names "
                             "another recipient")
    if expected is not None and named != parse_recipient(expected):
        raise PackageRefused(f"addressed to recipient {recipient_fingerprint(named)}, "
                             f"expected {recipient_fingerprint(expected)}")


def _check_parts(manifest: dict, found: list[dict]) -> None:
    listed = {part["path"]: part for part in manifest["parts"]}
    if len(listed) != len(manifest["parts"]):
        raise PackageRefused("manifest.json lists a part twice")
    present: set[str] = set()
    for item in found:
        if item["path"] in present:
            raise PackageRefused(f"part {item['path']} appears twice")
        if item["path"] not in listed:
            raise PackageRefused(f"unexpected member {item['path']}: not in the manifest")
        present.add(item["path"])
    missing = [path for path in listed if path not in present]
    if missing:
        raise PackageRefused(f"part {missing[0]} is missing")
    for part, item in zip(manifest["parts"], found, strict=True):
        _check_part(part, item)


def _check_part(part: dict, item: dict) -> None:
    path = item["path"]
    if part["path"] != path:
        raise PackageRefused(f"part {path}: out of the manifest's order")
    if part["bytes"] != item["bytes"]:
        raise PackageRefused(f"part {path}: {item['bytes']} bytes, the manifest says "
                             f"{part['bytes']}")
    if part["sha256"] != item["sha256"]:
        raise PackageRefused(f"part {path}: SHA-256 does not match the manifest")
    if _RECORD_PART.fullmatch(path) and part.get("records") != item["lines"]:
        raise PackageRefused(f"part {path}: {item['lines']} records, the manifest says "
                             f"{part.get('records')}")


def _check_counts(manifest: dict) -> None:
    counts: dict[str, int] = {}
    files = 0
    for part in manifest["parts"]:
        if match := _RECORD_PART.fullmatch(part["path"]):
            counts[match[1]] = counts.get(match[1], 0) + part["records"]
        else:
            files += 1
    if counts != manifest["counts"]:
        raise PackageRefused("manifest.json: the record counts do not add up to its parts")
    if files != manifest["files"]:
        raise PackageRefused("manifest.json: the file count does not match its parts")


def verify(source: Source, *, identity: Identity, seller_key: Ed25519PublicKey | None,
           expected_recipient: str | None = None) -> dict:
    """The package's manifest, once every byte decrypted, every part matched its size and
    SHA-256, and the manifest's signature verified — under `seller_key` when given (else
    under the key the manifest names itself). PackageRefused otherwise."""
    identity = _identity(identity)
    found, body, signature = _scan(source, identity)
    manifest = _check_signature(body, signature, seller_key)
    if manifest.get("format") != FORMAT:
        raise PackageRefused(f"manifest.json: not a {FORMAT} package")
    _check_recipient(manifest, identity, expected_recipient)
    try:
        _check_parts(manifest, found)
        _check_counts(manifest)
    except (KeyError, TypeError, AttributeError):
        raise PackageRefused("manifest.json: malformed parts or counts") from None
    return manifest


def _parts(source: Source, identity: Identity, manifest: dict) -> Iterator[tuple[str, bytes]]:
    """Every member's bytes in order, each checked against the verified manifest."""
    expected = [(part["path"], part) for part in manifest["parts"]]
    expected += [(MANIFEST, None), (SIGNATURE, None)]
    changed = "the package changed since it was verified"
    with _plaintext(source, _identity(identity)) as stream:
        index = 0
        for name, member in _members(stream):
            if index >= len(expected) or expected[index][0] != name:
                raise PackageRefused(f"unexpected member {name}: {changed}")
            part, index = expected[index][1], index + 1
            data = (_read(member, name) if part is None else
                    _read(member, name, part["bytes"], f"larger than the manifest says ({changed})"))
            if name == MANIFEST and data != canonical(manifest):
                raise PackageRefused(f"part {MANIFEST}: {changed}")
            if part is not None and (len(data) != part["bytes"]
                                     or hashlib.sha256(data).hexdigest() != part["sha256"]):
                raise PackageRefused(f"part {name}: SHA-256 does not match the manifest "
                                     f"({changed})")
            yield name, data
        if index != len(expected):
            raise PackageRefused(f"truncated: part {expected[index][0]} is missing ({changed})")


def entries(source: Source, *, identity: Identity, manifest: dict) -> Iterator[tuple]:
    """The package's ("record", type, dict) and ("file", path, bytes) entries in order,
    each part re-checked against `manifest` (as `verify` returned it) before any of its
    entries is yielded. A stream `source` is read from where it stands: rewind it first. Run the import in one transaction: a refusal can still come at
    the end (a package cut short after it was verified)."""
    for name, data in _parts(source, identity, manifest):
        if match := _RECORD_PART.fullmatch(name):
            for number, line in enumerate(data.splitlines(), 1):
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if not isinstance(record, dict):
                    raise PackageRefused(f"part {name}: line {number} is not a JSON object")
                yield "record", match[1], record
        elif name not in (MANIFEST, SIGNATURE):
            yield "file", name, data


def open_to(source: Source, *, identity: Identity, seller_key: Ed25519PublicKey | None,
            out_dir: str | os.PathLike) -> dict:
    """Verify, then write the open format (the tar's own layout) into `out_dir`, which
    must be empty or absent. Written beside it first and moved in at the end, so a
    refusal leaves `out_dir` as it was. Returns the manifest."""
    out = Path(out_dir)
    _refuse_nonempty(out)
    manifest = verify(source, identity=identity, seller_key=seller_key)
    if not isinstance(source, str | os.PathLike):
        source.seek(0)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".transfer-open-", dir=out.parent))
    try:
        for name, data in _parts(source, identity, manifest):
            target = staging / name
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        _refuse_nonempty(out)
        if out.exists():
            for child in staging.iterdir():
                child.rename(out / child.name)
            staging.rmdir()
        else:
            staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _refuse_nonempty(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} is not an empty directory: refusing to write into it")


def describe(manifest: dict) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(manifest["counts"].items()))
    return (f"package {manifest['package_id']} of {manifest['created_at']}, signed by seller "
            f"key {manifest['seller_fingerprint']}: records {counts or 'none'}; "
            f"{manifest['files']} files")


# ---- command line -----------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Salon Vault transfer packages.")
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("keygen", help="make the buyer's key pair")
    keys.add_argument("--out", required=True, help="directory for identity.txt")
    for name in ("verify", "open"):
        command = commands.add_parser(name, help=f"{name} a package")
        command.add_argument("package")
        command.add_argument("--identity", required=True, help="identity.txt")
        command.add_argument("--seller-key", help="base64 or hex Ed25519 key, or its file")
        if name == "open":
            command.add_argument("--out", required=True, help="empty directory")
    args = parser.parse_args(argv)
    try:
        if args.command == "keygen":
            identity_path, _, recipient = write_keypair(args.out)
            print(f"identity (keep it secret): {identity_path}\npublic key: {recipient}\n"
                  f"fingerprint: {recipient_fingerprint(recipient)}")
            return 0
        seller_key = parse_seller_key(args.seller_key) if args.seller_key else None
        identity = load_identity(args.identity)
        if args.command == "verify":
            manifest = verify(args.package, identity=identity, seller_key=seller_key)
        else:
            manifest = open_to(args.package, identity=identity, seller_key=seller_key,
                               out_dir=args.out)
    except (OSError, InvalidKey, PackageRefused) as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 1
    if seller_key is None:
        print(f"WARNING: the seller's key was not pinned; the package is signed by the key "
              f"it names itself, fingerprint {manifest['seller_fingerprint']}: confirm it "
              "with the seller", file=sys.stderr)
    print(("opened " if args.command == "open" else "valid: ") + describe(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
