from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from consent_service.config import keys as keys_module
from consent_service.config.keys import KEYS_FILE, MIN_KEY_LENGTH, Keys, KeysError, resolve_keys
from consent_service.config.settings import Settings

NEW = "n" * 40
OLD = "o" * 40
PSEUDO = "p" * 40


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the reader's retry loop instant; records the sleeps it asked for."""
    sleeps: list[float] = []
    monkeypatch.setattr(keys_module.time, "sleep", sleeps.append)
    return sleeps


def test_configured_keys_are_used_as_given(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keys = resolve_keys(Settings(data_dir=data, secret_keys=(NEW, OLD), pseudonym_key=PSEUDO))
    assert keys == Keys(signing=(NEW, OLD), pseudonym=PSEUDO)
    assert not (data / KEYS_FILE).exists()  # nothing generated when everything is configured


def test_generated_keys_file_is_private_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"  # created on demand
    first = resolve_keys(Settings(data_dir=data))
    path = data / KEYS_FILE
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.signing) == 1
    assert len(first.signing[0]) >= MIN_KEY_LENGTH
    assert len(first.pseudonym) >= MIN_KEY_LENGTH
    assert first.pseudonym not in first.signing
    stored = json.loads(path.read_text("utf-8"))
    assert stored == {"signing": first.signing[0], "pseudonym": first.pseudonym}
    second = resolve_keys(Settings(data_dir=data))
    assert second == first


def test_generated_keys_differ_between_data_dirs(tmp_path: Path) -> None:
    a = resolve_keys(Settings(data_dir=tmp_path / "a"))
    b = resolve_keys(Settings(data_dir=tmp_path / "b"))
    assert a.signing != b.signing
    assert a.pseudonym != b.pseudonym


def test_configured_signing_keys_with_generated_pseudonym(tmp_path: Path) -> None:
    keys = resolve_keys(Settings(data_dir=tmp_path, secret_keys=(NEW, OLD)))
    assert keys.signing == (NEW, OLD)
    stored = json.loads((tmp_path / KEYS_FILE).read_text("utf-8"))
    assert keys.pseudonym == stored["pseudonym"]
    assert keys.pseudonym not in (NEW, OLD)


def test_configured_pseudonym_with_generated_signing_key(tmp_path: Path) -> None:
    keys = resolve_keys(Settings(data_dir=tmp_path, pseudonym_key=PSEUDO))
    assert keys.pseudonym == PSEUDO
    stored = json.loads((tmp_path / KEYS_FILE).read_text("utf-8"))
    assert keys.signing == (stored["signing"],)


@pytest.mark.parametrize(
    ("settings_kwargs", "variable"),
    [
        ({"secret_keys": ("short",), "pseudonym_key": PSEUDO}, "CONSENT_SECRET_KEYS"),
        ({"secret_keys": (NEW, "x" * (MIN_KEY_LENGTH - 1)), "pseudonym_key": PSEUDO}, "CONSENT_SECRET_KEYS"),
        ({"secret_keys": (NEW,), "pseudonym_key": "short"}, "CONSENT_PSEUDONYM_KEY"),
    ],
)
def test_short_configured_keys_are_refused(tmp_path: Path, settings_kwargs: dict[str, object], variable: str) -> None:
    with pytest.raises(KeysError) as info:
        resolve_keys(Settings(data_dir=tmp_path, **settings_kwargs))  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(variable)
    assert str(MIN_KEY_LENGTH) in message
    assert "short" not in message  # the key itself is never shown


def test_key_of_exactly_the_minimum_length_is_accepted(tmp_path: Path) -> None:
    key = "k" * MIN_KEY_LENGTH
    assert resolve_keys(Settings(data_dir=tmp_path, secret_keys=(key,), pseudonym_key=PSEUDO)).signing == (key,)


@pytest.mark.parametrize("signing", [(PSEUDO,), (NEW, PSEUDO)])
def test_pseudonym_key_equal_to_a_signing_key_is_refused(tmp_path: Path, signing: tuple[str, ...]) -> None:
    with pytest.raises(KeysError, match="CONSENT_PSEUDONYM_KEY") as info:
        resolve_keys(Settings(data_dir=tmp_path, secret_keys=signing, pseudonym_key=PSEUDO))
    assert PSEUDO not in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="bad-json"),
        pytest.param(b'{"signing": "a"', id="truncated"),
        pytest.param(b"[]", id="list"),
        pytest.param(b"null", id="null"),
        pytest.param(b'{"signing": 1, "pseudonym": "x"}', id="wrong-type"),
        pytest.param(b'{"signing": "' + b"s" * 40 + b'"}', id="missing-pseudonym"),
        pytest.param(b"\xff\xfe\x00\x01garbage", id="binary"),
        pytest.param(b'{"signing": "\xe9"}', id="latin-1"),
    ],
)
def test_corrupt_key_file_names_the_path(tmp_path: Path, no_sleep: list[float], content: bytes) -> None:
    path = tmp_path / KEYS_FILE
    path.write_bytes(content)
    with pytest.raises(KeysError) as info:
        resolve_keys(Settings(data_dir=tmp_path))
    assert str(path) in str(info.value)
    assert "CONSENT_SECRET_KEYS" in str(info.value)  # what to do about it


def test_key_file_that_is_a_directory_names_the_path(tmp_path: Path, no_sleep: list[float]) -> None:
    path = tmp_path / KEYS_FILE
    path.mkdir()
    with pytest.raises(KeysError) as info:
        resolve_keys(Settings(data_dir=tmp_path))
    assert str(path) in str(info.value)


def test_reader_waits_for_a_writer_that_is_still_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / KEYS_FILE
    path.write_bytes(b"")  # another worker created the file and has not written it yet
    written = {"signing": "s" * 64, "pseudonym": "q" * 64}
    sleeps: list[float] = []

    def writer_finishes(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            path.write_text(json.dumps(written), "utf-8")

    monkeypatch.setattr(keys_module.time, "sleep", writer_finishes)
    keys = resolve_keys(Settings(data_dir=tmp_path))
    assert keys == Keys(signing=(written["signing"],), pseudonym=written["pseudonym"])
    assert len(sleeps) == 3


def test_concurrent_creation_gives_everyone_the_same_keys(tmp_path: Path) -> None:
    for attempt in range(5):
        data = tmp_path / f"d{attempt}"
        n = 12
        barrier = threading.Barrier(n)
        results: list[Keys | BaseException] = []
        lock = threading.Lock()

        def worker(
            data: Path = data,
            barrier: threading.Barrier = barrier,
            results: list[Keys | BaseException] = results,
            lock: threading.Lock = lock,
        ) -> None:
            barrier.wait()
            try:
                result: Keys | BaseException = resolve_keys(Settings(data_dir=data))
            except BaseException as exc:  # reported below
                result = exc
            with lock:
                results.append(result)

        threads = [threading.Thread(target=worker) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert len(results) == n
        assert all(isinstance(r, Keys) for r in results), results
        assert len(set(results)) == 1
        stored = json.loads((data / KEYS_FILE).read_text("utf-8"))
        only = results[0]
        assert isinstance(only, Keys)
        assert only == Keys(signing=(stored["signing"],), pseudonym=stored["pseudonym"])
        assert os.listdir(data) == [KEYS_FILE]
