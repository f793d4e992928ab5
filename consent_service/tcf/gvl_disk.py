"""Fetched Global Vendor List resources on disk, under the service's data directory:

    <data dir>/gvl/<name>.json        the body, exactly as served (an operator can read it)
    <data dir>/gvl/<name>.meta.json   {"fetched_ms", "expires_ms", "etag"}

so that the last good copy survives a restart even when neither IAB nor Redis answers. Each file is
written atomically (a temporary file in the same directory, then a rename), the body before its
metadata; a body whose metadata is missing or unreadable counts as fetched long ago and expired, which
is still better than no copy. Blocking file I/O: the caller runs these in a thread.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from consent_service.core.digits import MS_DIGITS, ascii_int
from consent_service.store.gvl_cache import CachedCopy


def read(directory: Path, name: str) -> CachedCopy | None:
    try:
        body = (directory / f"{name}.json").read_bytes()
    except OSError:  # none yet (or unreadable: the same to us)
        return None
    try:
        meta = json.loads((directory / f"{name}.meta.json").read_bytes())
    except (OSError, ValueError):
        meta = {}
    fields = meta if isinstance(meta, dict) else {}
    fetched, expires = (ascii_int(str(fields.get(f, "")), max_digits=MS_DIGITS) for f in ("fetched_ms", "expires_ms"))
    etag = fields.get("etag")
    return CachedCopy(body, fetched or 0, expires or 0, etag if isinstance(etag, str) and etag else None)


def write(directory: Path, name: str, copy: CachedCopy) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"fetched_ms": copy.fetched_ms, "expires_ms": copy.expires_ms, "etag": copy.etag}
    _replace(directory / f"{name}.json", copy.body)
    _replace(directory / f"{name}.meta.json", json.dumps(meta).encode())


def _replace(path: Path, data: bytes) -> None:
    # A name of its own per writer: several workers may write the same file at once.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
