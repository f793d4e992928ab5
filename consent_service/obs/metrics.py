"""Prometheus metrics, in a registry of their own, with labels that stay bounded.

One `Metrics` per app (`app.Instrumented` holds it); the hooks below count into the one of the app
serving the current request or background task (a context variable the ASGI wrapper sets), so
several apps in one process (tests) never share counters, and the global registry is untouched.

Labels are bounded by construction: `route` is the matched Starlette route's template, never the
raw path (a path can hold an account id), `<unmatched>` for anything else; `method` is one of the
HTTP methods below or `OTHER`; `site` and `purpose` are configured ids, counted only after the
request was validated against the site config; `reason` and `kind` come from fixed vocabularies.

Cost: per process, a request adds to plain counters (a dict lookup and a few additions) that are
turned into metric families only when scraped; docs/observability.md has the measurement.

Several worker processes: each has its own registry, so a scrape sees one worker. With
`PROMETHEUS_MULTIPROC_DIR` set (before the process starts), prometheus-client's multiprocess mode
keeps the values in files there and `/metrics` adds up every worker's.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class Reasoned(Protocol):
    """A decision as the metrics see it: only its reason code (a StrEnum, so its value is its label)."""

    @property
    def reason(self) -> str: ...


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The service answers in 1-100 ms (the decision's store read is bounded at 100 ms); slower answers
# (writes bounded at 2 s, exports) fall in the top buckets.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5)
CONTENT_TYPE = CONTENT_TYPE_LATEST
_BOUND_LABELS = [floatToGoString(b) for b in (*LATENCY_BUCKETS, math.inf)]  # type: ignore[no-untyped-call]
STORE_ERROR_KINDS = ("timeout", "connection", "other")


REQUESTS = ("consent_http_requests", "HTTP requests answered, by route template", ("route", "method", "status"))
LATENCY = (
    "consent_http_request_duration_seconds",
    "Time from the request to the last byte of its answer (work after the answer is not counted)",
    ("route", "method"),
)
DECISIONS = (
    "consent_decisions",
    "Purpose decisions answered, by site, purpose and reason",
    ("site", "purpose", "reason"),
)
GPC = (
    "consent_gpc_signals",
    "Requests carrying GPC; first_seen=true when the device had none on record (this request records it)",
    ("site", "first_seen"),
)


class Metrics:
    """The service's metrics in their own `CollectorRegistry`.

    The three per-request series are kept by `_LocalCounts` (plain dicts, turned into metric families
    at scrape time: the cheapest update there is) or, in multiprocess mode, by `_SharedCounts`
    (prometheus-client's own metrics, whose values live in the shared files)."""

    def __init__(self, *, multiprocess_dir: str | None = None, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess_dir = multiprocess_dir
        r = self.registry
        counts = _LocalCounts() if multiprocess_dir is None else _SharedCounts(r)
        if isinstance(counts, _LocalCounts):
            r.register(counts)
        self.observe_request: Callable[[str, str, int, float], None] = counts.observe_request
        self.count_decisions: Callable[[str, Mapping[str, Reasoned]], None] = counts.count_decisions
        self.count_gpc: Callable[[str, bool], None] = counts.count_gpc
        self.store_errors = Counter(
            "consent_store_errors",
            "Redis operations that failed, by kind (timeout, connection, other)",
            ("kind",),
            registry=r,
        )
        self.background_errors = Counter(
            "consent_background_errors", "Failures of work run after an answer was sent", registry=r
        )
        for kind in STORE_ERROR_KINDS:  # every kind present from the start, at 0
            self.store_errors.labels(kind)
        if process_metrics and multiprocess_dir is None:  # per-process figures mean nothing summed up
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)

    def exposition(self) -> bytes:
        """The text format for a scrape: this process's registry, or every worker's in multiprocess mode."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def _method(method: str) -> str:
    return method if method in METHODS else "OTHER"


class _LocalCounts(Collector):
    """This process's per-request counts in plain dicts, updated without locks or extra calls (the
    event loop's thread is the only writer, and a scrape runs on it too); exported on collect().

    Measured under uvicorn, prometheus-client's labelled children cost 5-7 µs more per request
    than this (docs/observability.md): several Python calls and a lock per update on a busy path."""

    def __init__(self) -> None:
        # (route, method, status) -> [count, sum, one count per bucket (the last is +Inf)]
        self.http: dict[tuple[str, str, int], list[float]] = {}
        self.decisions: dict[tuple[str, str, str], int] = {}
        self.gpc: dict[tuple[str, bool], int] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method if method in METHODS else "OTHER", status)
        entry = self.http.get(key)
        if entry is None:
            entry = self.http[key] = [0.0] * (len(LATENCY_BUCKETS) + 3)
        entry[0] += 1
        entry[1] += seconds
        entry[2 + bisect_left(LATENCY_BUCKETS, seconds)] += 1

    def count_decisions(self, site: str, decisions: Mapping[str, Reasoned]) -> None:
        counts = self.decisions
        for purpose, decision in decisions.items():
            key = (site, purpose, decision.reason)  # a StrEnum: its label is its value
            counts[key] = counts.get(key, 0) + 1

    def count_gpc(self, site: str, first_seen: bool) -> None:
        self.gpc[(site, first_seen)] = self.gpc.get((site, first_seen), 0) + 1

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(REQUESTS[0], REQUESTS[1], labels=REQUESTS[2])
        latency = HistogramMetricFamily(LATENCY[0], LATENCY[1], labels=LATENCY[2])
        by_route: dict[tuple[str, str], list[float]] = {}
        for (route, method, status), entry in list(self.http.items()):
            requests.add_metric((route, method, str(status)), entry[0])
            total = by_route.setdefault((route, method), [0.0] * len(entry))
            for i, value in enumerate(entry):
                total[i] += value
        for labels, total in by_route.items():
            cumulative, buckets = 0.0, []
            for bound, count in zip(_BOUND_LABELS, total[2:], strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric(labels, buckets, total[1])
        decisions = CounterMetricFamily(DECISIONS[0], DECISIONS[1], labels=DECISIONS[2])
        for (site, purpose, reason), count in list(self.decisions.items()):
            decisions.add_metric((site, purpose, str(reason)), count)
        gpc = CounterMetricFamily(GPC[0], GPC[1], labels=GPC[2])
        for (site, first), count in list(self.gpc.items()):
            gpc.add_metric((site, "true" if first else "false"), count)
        yield from (requests, latency, decisions, gpc)


class _SharedCounts:
    """The same series as prometheus-client metrics, for multiprocess mode (values in its files);
    each combination of label values bound once and cached."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(*REQUESTS, registry=registry)
        self.latency = Histogram(*LATENCY, buckets=LATENCY_BUCKETS, registry=registry)
        self.decisions = Counter(*DECISIONS, registry=registry)
        self.gpc = Counter(*GPC, registry=registry)
        self._http: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._decisions: dict[tuple[str, str, str], Any] = {}
        self._gpc: dict[tuple[str, bool], Any] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        children = self._http.get((route, method, status))
        if children is None:
            label = _method(method)
            children = (self.requests.labels(route, label, str(status)), self.latency.labels(route, label))
            self._http[(route, method, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_decisions(self, site: str, decisions: Mapping[str, Reasoned]) -> None:
        cache = self._decisions
        for purpose, decision in decisions.items():
            key = (site, purpose, decision.reason)
            child = cache.get(key)
            if child is None:
                child = cache[key] = self.decisions.labels(site, purpose, str(decision.reason))
            child.inc()

    def count_gpc(self, site: str, first_seen: bool) -> None:
        child = self._gpc.get((site, first_seen))
        if child is None:
            child = self._gpc[(site, first_seen)] = self.gpc.labels(site, "true" if first_seen else "false")
        child.inc()


# The metrics of the app serving this request or background task (set by `app.Instrumented`).
CURRENT: ContextVar[Metrics | None] = ContextVar("consent_service.metrics", default=None)
_fallback: list[Metrics] = []  # for an app run without the wrapper (some tests): made on first use


def current() -> Metrics:
    metrics = CURRENT.get()
    if metrics is not None:
        return metrics
    if not _fallback:
        _fallback.append(Metrics(process_metrics=False))
    return _fallback[0]


# ---- the hooks: one line each where the service knows what happened -------------------------------


def count_decisions(site: str, decisions: Mapping[str, Reasoned]) -> None:
    """Decisions answered (the site and purposes were validated against the config before)."""
    current().count_decisions(site, decisions)


def count_gpc(site: str, first_seen: bool) -> None:
    """A request carrying GPC; `first_seen` when the device had none on record (a human's device)."""
    current().count_gpc(site, first_seen)


def count_store_error(kind: str) -> None:
    """A store error of one of STORE_ERROR_KINDS (store/errors.py tells them apart)."""
    current().store_errors.labels(kind).inc()


def count_background_error() -> None:
    current().background_errors.inc()


# ---- /metrics ----------------------------------------------------------------------------------


def exposition() -> bytes:
    return current().exposition()
