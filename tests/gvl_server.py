"""A loopback HTTP server standing in for IAB's vendor-list.consensu.org in tests/test_gvl_source.py: it
serves what each test sets per path (a body with `Cache-Control: max-age` and an ETag, an error
status, an oversized body, or no answer at all) and counts the requests it gets, so the tests count
fetches instead of measuring time."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

Mode = Literal["serve", "hang", "undeclared"]  # undeclared: a body without Content-Length, up to the close


@dataclass
class Answer:
    body: bytes = b""
    status: int = 200
    max_age: int | None = 3600
    etag: str | None = None
    mode: Mode = "serve"


@dataclass
class Seen:
    path: str
    if_none_match: str | None
    accept_encoding: str | None


@dataclass
class GvlServer:
    answers: dict[str, Answer] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends every hanging answer

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="gvl-server", daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def set(self, path: str, answer: Answer) -> None:
        with self._lock:
            self.answers[path] = answer

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for s in self.seen if s.path == path)

    def close(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=30)


def _handler(server: GvlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with server._lock:
                server.seen.append(Seen(self.path, self.headers["if-none-match"], self.headers["accept-encoding"]))
                answer = server.answers.get(self.path, Answer(b"not here", status=404, max_age=None))
            if answer.mode == "hang":
                server.release.wait(timeout=120)  # never answers; the connection closes at the end
                self.close_connection = True
                return
            fresh = answer.etag is not None and self.headers["if-none-match"] == answer.etag
            self.send_response(304 if fresh else answer.status)
            if answer.max_age is not None:
                self.send_header("cache-control", f"public, max-age={answer.max_age}")
            if answer.etag is not None:
                self.send_header("etag", answer.etag)
            self.send_header("content-type", "application/json")
            if answer.mode == "undeclared":
                self.close_connection = True  # HTTP/1.0: the body runs up to the close
            elif not fresh:
                self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            if not fresh:
                try:
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading (too large)
                    self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:  # silent: the tests count requests
            pass

    return Handler
