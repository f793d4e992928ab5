"""Logging: one JSON object per line (or plain text in a terminal), and no personal data.

What reaches a log line is the time, the level, the logger's name, the message and the fields of
SAFE_FIELDS given with `extra=`; any other `extra` is dropped. The service's own messages name a
route by its template and never carry tokens, client addresses, account ids, query strings or
headers. An exception is written as its type and its frames, never its message (a message can
quote request data). uvicorn's access log (client address, full path with its query) stays off;
the service's own access log (`CONSENT_ACCESS_LOG=on`) writes route template, method, status and
duration only.

The same configuration is handed to uvicorn (`log_config`), so every worker process logs alike.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

SAFE_FIELDS = ("route", "method", "status", "duration_ms", "site", "kind", "count")
FORMATS = ("auto", "json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
ACCESS_LOGGER = "consent_service.access"


def resolve_format(setting: str, stream: TextIO) -> str:
    """`auto` is JSON unless the log goes to a terminal (then text, for people)."""
    if setting != "auto":
        return setting
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # a closed or odd stream
        return "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, safe fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__
        for name in SAFE_FIELDS:
            value = fields.get(name)
            if value is not None:
                entry[name] = value
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            entry["exception"] = type(exc).__name__
            entry["stack"] = frames(exc)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """Plain lines for a terminal: the message only (no `extra` fields), exceptions without messages."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatException(self, ei: Any) -> str:
        exc = ei[1]
        if exc is None:
            return ""
        return "\n".join([f"{type(exc).__name__} (message not logged)", *(f"  at {f}" for f in frames(exc))])


def frames(exc: BaseException) -> list[str]:
    """Where an exception happened (file, line, function), innermost last, its causes' types after."""
    import traceback  # noqa: PLC0415 - only on the error path

    out = [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_tb(exc.__traceback__)]
    cause, depth = exc.__cause__ or exc.__context__, 0
    while cause is not None and depth < 5:
        out.append(f"caused by {type(cause).__name__}")
        cause, depth = cause.__cause__ or cause.__context__, depth + 1
    return out


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the service's and uvicorn's loggers (also uvicorn's `log_config`)."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"default": handler},
        "loggers": {
            "consent_service": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            ACCESS_LOGGER: {"level": "INFO"},  # on only when asked for (CONSENT_ACCESS_LOG), then at any level
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            # Client address and full path with its query string: personal data, never written.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def configure(log_format: str, level: str) -> None:
    logging.config.dictConfig(logging_config(log_format, level))
