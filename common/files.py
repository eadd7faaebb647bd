"""The files the app keeps (photos, report PDFs, exports), wherever the storage puts them.

The default storage is the local disk on the embedded default and an S3-compatible object
store when the S3 settings are present (deliberation/settings.py, "Files"). Everything here
goes through the storage API, never a local path, so it works the same on both, and on a
second web machine that has no copy of the first one's disk.

Files are private: only the app's scoped views hand them out, after their tenancy check,
by streaming them from the storage (``stored_file_response``). The object store's address
need not be reachable from a resident's phone.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from storages.utils import clean_name

logger = logging.getLogger(__name__)

# What a storage raises when it cannot be reached or refuses a write: the disk (OSError)
# or the object store (botocore's connection and service errors).
STORE_ERRORS: tuple[type[BaseException], ...] = (OSError, BotoCoreError, ClientError)

# How much of a stored file is read at a time while streaming it to the browser.
CHUNK_BYTES = 64 * 1024

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The storage could not keep a file just now; trying again later may work."""


def save(field_file: FieldFile, name: str, content) -> None:
    """Write ``content`` into ``field_file``'s storage (not its model row), or raise
    ``StoreUnavailable`` so the caller can refuse the file and keep the rest."""
    try:
        field_file.save(name, content, save=False)
    except STORE_ERRORS as error:
        logger.warning("file store refused %s: %s", name, error)
        raise StoreUnavailable(str(error)) from error


def discard(names: Iterable[str], storage) -> None:
    """Delete files a rolled-back write left in the storage; a failure only logs."""
    for name in names:
        try:
            storage.delete(name)
        except STORE_ERRORS as error:  # an orphan costs space, not correctness
            logger.warning("could not delete the orphan file %s: %s", name, error)


def is_stored(field_file: FieldFile, what: str) -> bool:
    """Whether the file a row points at is in the storage; a missing one is logged."""
    if not field_file:
        return False
    try:
        if field_file.storage.exists(field_file.name):
            return True
        logger.warning("%s missing from the file store: %s", what, field_file.name)
    except STORE_ERRORS as error:
        logger.warning("file store unreachable for %s %s: %s", what, field_file.name, error)
    return False


# How long a file seen in the object store is taken to be there without asking again. A
# stored file is never rewritten under its name, and one deleted meanwhile only shows as a
# missing picture, which its own URL then answers with 404.
SEEN_SECONDS = 3600


def stored_only(rows: Iterable[T], field: str, *, what: str) -> list[T]:
    """The rows whose file (``field``) is in the storage; the others are logged and left out.

    On the local disk that is one ``stat`` per file. An object store answers each question
    over the network, so the files it was seen to hold are remembered in the cache for a
    while, and a page of photos asks the store only about those not seen lately.
    """
    rows = list(rows)
    files = [getattr(row, field) for row in rows]
    if not files or all(isinstance(f.storage, FileSystemStorage) for f in files if f):
        return [row for row, f in zip(rows, files, strict=True) if is_stored(f, what)]
    keys = {f.name: "stored:" + hashlib.sha1(f.name.encode()).hexdigest() for f in files if f}
    seen = cache.get_many(list(keys.values()))
    kept, newly_seen = [], {}
    for row, f in zip(rows, files, strict=True):
        if f and keys[f.name] in seen:
            kept.append(row)
        elif is_stored(f, what):
            kept.append(row)
            newly_seen[keys[f.name]] = True
    if newly_seen:
        cache.set_many(newly_seen, SEEN_SECONDS)
    return kept


def stored_file_response(field_file: FieldFile, *, content_type: str, what: str) -> FileResponse:
    """Stream a stored file to the browser; 404 (and a warning in the log) if it is missing.

    On the object store the body is read from S3 as it is sent, never held whole in memory
    or on the web process's disk.
    """
    if not field_file:
        raise Http404
    storage = field_file.storage
    try:
        if hasattr(storage, "bucket"):  # storages' S3Storage
            key = storage._normalize_name(clean_name(field_file.name))
            found = storage.bucket.Object(key).get()
            body, length = found["Body"], found["ContentLength"]
        else:
            body = field_file.open("rb")
            length = field_file.size
    except FileNotFoundError:
        logger.warning("%s missing from the file store: %s", what, field_file.name)
        raise Http404 from None
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            logger.warning("%s missing from the file store: %s", what, field_file.name)
            raise Http404 from None
        raise
    response = FileResponse(body, content_type=content_type)
    response.block_size = CHUNK_BYTES  # read lazily, so it applies to the whole stream
    response["Content-Length"] = str(length)
    return response
