"""Moving the files kept on the local disk (MEDIA_ROOT) into the object store.

Each file is copied under the same name (the rows point at names, so none changes), then
read back from the store and checked: the same size and the same SHA-256. A file already in
the store with that size and checksum is not copied again, so the move can be run twice, or
again after a failure, and copies only what is missing. Nothing is switched here: the
command prints the settings to give the web processes and workers once every file is
verified.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError

CHUNK_BYTES = 1024 * 1024
CHECKSUM_KEY = "sha256"  # the object's metadata that records what was copied


@dataclass
class MoveResult:
    copied: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def verified(self) -> int:
        return len(self.copied) + len(self.already_there)


def local_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(storage name, path) of every file under ``root``, in a stable order."""
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path.relative_to(root).as_posix(), path


def sha256_of(chunks) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk


def upload(store_object, path: Path, checksum: str) -> None:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    store_object.upload_file(
        str(path), ExtraArgs={"Metadata": {CHECKSUM_KEY: checksum}, "ContentType": content_type}
    )


def stored_checksum(store_object) -> tuple[str, int]:
    """Read the object back from the store and hash what it holds."""
    body = store_object.get()["Body"]
    return sha256_of(body.iter_chunks(CHUNK_BYTES))


def already_stored(store_object, checksum: str, size: int) -> bool:
    try:
        store_object.load()  # HEAD: size and metadata
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return (
        store_object.content_length == size and store_object.metadata.get(CHECKSUM_KEY) == checksum
    )


def media_move(*, root: Path, storage, log=lambda line: None) -> MoveResult:
    """Copy every file under ``root`` into ``storage`` (storages' S3Storage) and verify it."""
    from storages.utils import clean_name

    result = MoveResult()
    for name, path in local_files(root):
        checksum, size = sha256_of(file_chunks(path))
        store_object = storage.bucket.Object(storage._normalize_name(clean_name(name)))
        try:
            if already_stored(store_object, checksum, size):
                result.already_there.append(name)
                continue
            upload(store_object, path, checksum)
            got_checksum, got_size = stored_checksum(store_object)
        except Exception as error:  # one file's failure is reported; the others go on
            result.failed.append((name, f"{type(error).__name__}: {error}"))
            log(f"FAILED  {name}: {error}")
            continue
        if (got_checksum, got_size) != (checksum, size):
            result.failed.append((name, f"read back {got_size} bytes, sha256 {got_checksum}"))
            log(f"FAILED  {name}: the copy differs (size {got_size} of {size})")
            continue
        result.copied.append(name)
        log(f"copied  {name} ({size} bytes, sha256 {checksum[:12]}…)")
    return result
