"""The service in this process, for tools that drive it (not tests: those have their fixtures): a
private `redis-server`, the app under uvicorn on a free loopback port, stopped on leaving."""

from __future__ import annotations

import dataclasses
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from consent_service.cli.redis_runner import EmbeddedRedis
from consent_service.config.keys import Keys
from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.web.app import create_app


@dataclass(frozen=True)
class Live:
    origin: str
    redis_url: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_service(admin_keys: tuple[tuple[str, frozenset[str]], ...] = ()) -> Iterator[Live]:
    """The bundled demo site served at `Live.origin` until the block ends (Redis emptied with it)."""
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", persistent=False)
        redis.start()
        try:
            settings = dataclasses.replace(
                Settings(), redis_url=redis.url, data_dir=Path(tmp) / "data", admin_keys=admin_keys
            )
            app = create_app(settings, load_sites(None), Keys(signing=("s" * 40,), pseudonym="p" * 40))
            port = free_port()
            config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            try:
                deadline = time.monotonic() + 30
                while not server.started:
                    if time.monotonic() > deadline or not thread.is_alive():
                        raise RuntimeError("the service did not start")
                    time.sleep(0.05)
                yield Live(f"http://127.0.0.1:{port}", redis.url)
            finally:
                server.should_exit = True
                thread.join(15)
        finally:
            redis.stop()
