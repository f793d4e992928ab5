"""The store's one error type, and how a Redis failure is named in the metrics.

Every Redis error reaching the code above the store is a `StoreUnavailable` (the use cases fail
closed or carry an opt-out on it); each is counted in `/metrics` by kind (`timeout`, `connection`,
`other`): the kind is read here, where the client library's exceptions are known, so the metrics
take a plain label.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from consent_service.obs import metrics
from consent_service.store.reader import ReaderError

# RedisClusterException is not a RedisError: the cluster client raises it when no node answers.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError, TimeoutError)


class StoreUnavailable(Exception):
    """Redis could not answer in time; every Redis error is wrapped in this one type."""


def unavailable(exc: BaseException) -> StoreUnavailable:
    metrics.count_store_error(error_kind(exc))
    return StoreUnavailable(str(exc) or type(exc).__name__)


def error_kind(exc: BaseException) -> str:
    """`timeout`, `connection` or `other`, from the error and what it was raised from."""
    seen: BaseException | None = exc
    for _ in range(5):  # the wrapped cause is at most a few links away
        if seen is None:
            break
        if isinstance(seen, TimeoutError | RedisTimeoutError):
            return "timeout"
        if isinstance(seen, OSError | RedisConnectionError | RedisClusterException):
            return "connection"
        if isinstance(seen, ReaderError) and "connection" in str(seen):
            return "connection"  # the pipelined reader's "connection to Redis lost"
        seen = seen.__cause__ or seen.__context__
    return "other"
