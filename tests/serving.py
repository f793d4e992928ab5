"""`consent-service serve` run as a user runs it, in a subprocess on a free loopback port, stopped
with Ctrl-C's signal (tests/test_cli.py, test_startup.py, test_workers.py, test_readme_try_it.py; the
`env` and `served` fixtures are in conftest.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tools.live import free_port

BOUND_S = 20.0  # how long we wait for a start at most (Redis + uvicorn), not a speed claim


class Served:
    def __init__(self, cwd: Path, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "consent_service.cli.main", "serve", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output: str | None = None
        deadline = time.monotonic() + BOUND_S
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve did not start: {self.stop()}")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> str:
        if self.output is not None:
            return self.output
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # what Ctrl-C does
            try:
                self.proc.wait(timeout=BOUND_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.stdout is not None
        self.output = self.proc.stdout.read().decode()
        self.proc.stdout.close()
        return self.output
