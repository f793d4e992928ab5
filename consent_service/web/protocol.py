"""uvicorn's httptools protocol with the limits a server on the internet needs: a bounded request head,
and total deadlines on reading the head and the body of each request.

These live below the app on purpose: the app only sees a request once its head is complete, so a
header trickle, or a header of megabytes that httptools would buffer (and copy at each read), can
only be stopped here. A reverse proxy in front (docs/deploy.md) should have its own limits as well.

- The head (request line and headers) is capped at `max_header_bytes`: counted exactly, once it is
  complete, from the URL, header names and values httptools handed over (each header line with the
  4 bytes of its `: ` and line end, so a flood of tiny headers counts too), and, while it is not
  complete (a header that never ends, which httptools keeps buffering), by its bytes on the wire.
  Over the cap the answer is 431 `headers_too_large`, JSON like every error of the service, after
  the answers to any earlier pipelined requests, and the connection is closed; the app never sees
  the request.
- The head must arrive within `read_timeout_s` of the connection's start (its first request) or of
  the request's first byte (later requests; uvicorn's keep-alive timeout bounds the idle time
  between them). The body must then arrive within `read_timeout_s` of the head's end. Both are
  totals, not idle timers, so a byte every few seconds cannot keep a connection open. On expiry
  the connection is closed; an app still reading the body gets `http.disconnect` (web/errors.py answers
  499, the status nginx uses for a client that went away).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any, Literal, cast

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from consent_service.config.settings import Settings
from consent_service.core.errors import ApiError
from consent_service.core.vocab import ErrorCode
from consent_service.web.http import NO_STORE

log = logging.getLogger("consent_service.web.protocol")
# After a 431, the rest of the request is read and dropped for at most this long before closing:
# closing with unread data sends a reset, which can destroy the 431 before the client reads it.
LINGER_S = 2.0
HEADER_LINE_SYNTAX = 4  # the ": " and CRLF of a header line, counted with its name and value
# On the wire a head also has the request line's method and version, its last empty line and maybe
# spaces before values: a head still open is refused once its bytes on the wire pass the cap by this.
WIRE_SLACK = 1024

Phase = Literal["waiting", "head", "body", "idle"]


@dataclass(frozen=True, slots=True)
class ReadLimits:
    max_header_bytes: int
    read_timeout_s: float

    @classmethod
    def of(cls, settings: Settings) -> ReadLimits:
        return cls(settings.max_header_bytes, settings.read_timeout_s)


DEFAULT_LIMITS = ReadLimits.of(Settings())


class HeadTooLarge(Exception):
    """Raised in a parser callback, which stops httptools at once (it then raises its own error)."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the head cap and read deadlines of the module's docstring.

    uvicorn builds it per connection as `cls(config=…, server_state=…, app_state=…, _loop=…)`; the
    limits come from `protocol_for(settings)`, or are the defaults when uvicorn is given this class
    by name (`--http consent_service.web.protocol:LimitedHttpToolsProtocol`)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ReadLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._phase: Phase = "waiting"  # for the first request's first byte
        self._deadline: asyncio.TimerHandle | None = None  # of the phase (or the linger after a 431)
        self._messages = 0  # requests begun on this connection
        self._wire_bytes = 0  # bytes of this head on the wire, as far as they are known (_over_wire)
        self._over_cap = False  # set in a parser callback, which then stops the parser
        self._refused = False  # the head was over the cap: whatever the client still sends is dropped
        self._refusal_sent = False

    # ---- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that sends nothing is a head that never comes

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """uvicorn's own, with the head counted on the wire and the deadline armed for the phase."""
        if self._refused:
            return
        phase, message = self._phase, self._messages
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._over_cap:
                self._refuse_head()
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._phase == "head" and self._over_wire(phase, message, len(data)):
            self._refuse_head()
            return
        if self._phase in ("head", "body") and self._deadline is None:
            self._arm()  # here rather than in the callbacks: most requests come whole in one read

    # ---- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._phase = "head"
        self._messages += 1
        self._wire_bytes = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        # Counted once here rather than in on_url and on_header (no Python call per header); until
        # here the head's growth is bounded by the count on the wire (_over_wire) and one read.
        if self._head_size() > self.limits.max_header_bytes:
            self._over_cap = True
            raise HeadTooLarge
        self._phase = "body"
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._phase = "idle"
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._refused and not self._refusal_sent and self.cycle.response_complete:
            self._unset_keepalive_if_required()  # armed by uvicorn just now; the refusal closes instead
            self._send_refusal()

    # ---- the limits --------------------------------------------------------------------------

    def _head_size(self) -> int:
        """The head as httptools handed it over: the URL, and each header's name and value with the
        4 bytes of `: ` and line end (so a flood of tiny headers counts too)."""
        size = len(self.url) + HEADER_LINE_SYNTAX * len(self.headers)
        for name, value in self.headers:
            size += len(name) + len(value)
        return size

    def _over_wire(self, phase_before: Phase, message_before: int, size: int) -> bool:
        """Whether the open head passed the cap on the wire, after a read of `size` bytes.

        A read that continues the head, or that began it at its first byte, is all head. A read in
        which it began after the end of an earlier request holds an unknown share of it, which is
        not counted: at most one read more is buffered before the next read decides."""
        if self._messages == message_before and phase_before == "head":
            self._wire_bytes += size
        elif self._messages == message_before + 1 and phase_before in ("waiting", "idle"):
            self._wire_bytes = size
        return self._wire_bytes > self.limits.max_header_bytes + WIRE_SLACK

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.limits.read_timeout_s, self._late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:
            # We stopped reading (a pipelined request waits its turn, or the app has not taken the
            # body read so far): the time is ours, not the client's.
            self._arm()
            return
        if self._phase != "waiting":  # an unused connection (a browser's preconnect) is not news
            log.info("request %s not received within %g s: connection closed", self._phase, self.limits.read_timeout_s)
        self.transport.close()

    def _refuse_head(self) -> None:
        self._refused = True
        self._disarm()
        # Answers to earlier pipelined requests go first (uvicorn writes them in order, the newest
        # request's last); the 431 follows them (on_response_complete).
        if self.cycle is None or self.cycle.response_complete:
            self._send_refusal()

    def _send_refusal(self) -> None:
        self._refusal_sent = True
        if self.transport.is_closing():  # an earlier request asked for `Connection: close`
            return
        log.warning("request head over %d bytes (CONSENT_MAX_HEADER_BYTES): answered 431", self.limits.max_header_bytes)
        self.transport.write(self._refusal())
        if not self.transport.can_write_eof():  # TLS: no half-close
            self.transport.close()
            return
        # End our side after the answer and drop what the client still sends (data_received
        # returns at once); its own end or the linger's end closes the connection.
        self.transport.write_eof()
        self._deadline = self.loop.call_later(LINGER_S, self.transport.close)

    def _refusal(self) -> bytes:
        error = ApiError(
            ErrorCode.HEADERS_TOO_LARGE,
            f"the request line and headers must be at most {self.limits.max_header_bytes} bytes",
        )
        body = orjson.dumps({"error": error.code.value, "detail": error.detail})
        headers = [
            *self.server_state.default_headers,
            *((name.encode(), value.encode()) for name, value in NO_STORE.items()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        return b"".join([STATUS_LINE[error.status], *(b"%s: %s\r\n" % pair for pair in headers), b"\r\n", body])


def protocol_for(settings: Settings) -> type[asyncio.Protocol]:
    """What `uvicorn.run(http=…)` takes: this module's protocol with the limits of `settings`.

    A partial of a module-level class: uvicorn only calls it with keywords, and with `--workers N`
    it pickles its Config, this included, into each worker process, which a partial of an importable
    class and a frozen dataclass survive (a class made at run time would not). So every worker has
    the limits `serve` validated, without reading the environment again. uvicorn's annotation asks
    for a type: the cast is for that alone."""
    return cast("type[asyncio.Protocol]", functools.partial(LimitedHttpToolsProtocol, limits=ReadLimits.of(settings)))
