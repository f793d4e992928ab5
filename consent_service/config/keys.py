"""Secret keys: configured, or generated once per data directory (one-machine convenience).

Workers started by one `serve` (and later restarts) share the generated file; several machines
need configured keys (`CONSENT_SECRET_KEYS`, `CONSENT_PSEUDONYM_KEY`). Keys are never printed or
logged; the one exception is the development admin key (`dev_admin_key`), which `serve` shows once
in its terminal so that the dashboard can be tried (never in JSON output, which is the logs).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from consent_service.config.settings import Settings

KEYS_FILE = "secret-keys.json"
MIN_KEY_LENGTH = 32


class KeysError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Keys:
    signing: tuple[str, ...]  # newest first
    pseudonym: str


def resolve_keys(settings: Settings) -> Keys:
    generated: dict[str, str] = {}
    if not settings.secret_keys or not settings.pseudonym_key:
        generated = _load_or_create(settings.data_dir / KEYS_FILE)
    signing = settings.secret_keys or (generated["signing"],)
    pseudonym = settings.pseudonym_key or generated["pseudonym"]
    for name, key in [*(("CONSENT_SECRET_KEYS", k) for k in signing), ("CONSENT_PSEUDONYM_KEY", pseudonym)]:
        if len(key) < MIN_KEY_LENGTH:
            raise KeysError(f"{name}: every key must be at least {MIN_KEY_LENGTH} characters")
    if pseudonym in signing:
        raise KeysError("CONSENT_PSEUDONYM_KEY must differ from every CONSENT_SECRET_KEYS entry")
    return Keys(signing=tuple(signing), pseudonym=pseudonym)


def _load_or_create(path: Path) -> dict[str, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = {"signing": secrets.token_urlsafe(48), "pseudonym": secrets.token_urlsafe(48)}
    try:
        # O_EXCL: when several workers race, exactly one writes and all read the same keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w") as f:
        json.dump(fresh, f)
        f.flush()
        os.fsync(f.fileno())
    return fresh


def _read(path: Path) -> dict[str, str]:
    for _ in range(50):  # another worker may be between create and write
        try:
            data = json.loads(path.read_text("utf-8"))
        except (ValueError, OSError):  # also UnicodeDecodeError
            time.sleep(0.02)
            continue
        if isinstance(data, dict) and isinstance(data.get("signing"), str) and isinstance(data.get("pseudonym"), str):
            return {"signing": data["signing"], "pseudonym": data["pseudonym"]}
        break
    raise KeysError(f"{path}: unreadable generated key file; restore it or configure CONSENT_SECRET_KEYS")


ADMIN_KEY_FILE = "admin-key"


def dev_admin_key(data_dir: Path) -> str:
    """The development admin key: generated once into the data directory (mode 0600), then the same
    on every later start. Only `serve` asks for it, and only in the development case: no
    CONSENT_ADMIN_KEYS, the embedded Redis, a loopback address (cli/main.py)."""
    path = data_dir / ADMIN_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_admin_key(path)
    key = secrets.token_urlsafe(32)  # 43 characters of A-Z a-z 0-9 - _
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key


def _read_admin_key(path: Path) -> str:
    try:
        key = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeysError(f"{path}: unreadable development admin key; delete it to make a new one") from exc
    if len(key) < MIN_KEY_LENGTH or not key.isascii() or not key.replace("-", "").replace("_", "").isalnum():
        raise KeysError(f"{path}: not a development admin key; delete it to make a new one")
    return key
