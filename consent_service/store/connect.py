"""Redis clients from a URL: one standalone Redis, or a Redis Cluster.

    redis://[user:password@]host:port/0        standalone (also rediss:// for TLS, unix:///path.sock)
    redis+cluster://[user:password@]host:port[,host:port…][/?options]
    rediss+cluster://…                          the same over TLS
    redis+sentinel://[user:password@]host:port[,host:port…]/master-name
                                                a primary found by Redis Sentinel (rediss+sentinel: TLS)

A cluster URL names one or more startup nodes (any reachable one is enough to find the others; name
several so that one being down does not stop a start) and uses redis-py's cluster client, which
routes each command by its key's slot. Query options are redis-py's connection options (e.g.
`?ssl_cert_reqs=none`); a database number other than 0 is refused, as Redis Cluster has only db 0.
The decision path's pipelined reader (reader.py) speaks to one server; on a cluster, cluster_reader.py
keeps one per master and routes each read by its slot (TLS clusters read through the cluster client).
"""

from __future__ import annotations

import os
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from consent_service.core.digits import ascii_int
from consent_service.store.cluster_reader import ClusterReader
from consent_service.store.reader import PipelinedReader

Client = aioredis.Redis | RedisCluster
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
DEFAULT_PORT = 6379
# redis-py's cluster client refuses a command once a node has this many connections in use (the
# standalone client has no cap). Generous: a refusal is a failed request here, never a wait.
MAX_CONNECTIONS_PER_NODE = 1024


def is_sentinel_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in SENTINEL_SCHEMES


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


SENTINEL_SCHEMES = {"redis+sentinel": "redis", "rediss+sentinel": "rediss"}
Reader = PipelinedReader | ClusterReader  # the decision path's lean HGETALL


def connect(url: str, timeout_s: float) -> tuple[Client, Reader | None]:
    """The client for `url` (nothing is connected yet: the first command connects), and the
    decision path's reader where it applies."""
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": timeout_s,
        "socket_connect_timeout": min(timeout_s, 1.0),
        # One immediate retry covers a pooled connection that died with a restarted Redis (on a
        # cluster: a node that failed over; the slot map is refreshed before the retry). The write
        # script is idempotent (a change id), so a retried write never applies twice.
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 30,
        # Names the process's connections in CLIENT LIST, so an operator sees which worker or
        # replica holds which (no personal data: a host-local process id).
        "client_name": f"consent-service-{os.getpid()}",
    }
    if is_sentinel_url(url):
        # The primary's address changes on a failover: every read and write goes through
        # redis-py's Sentinel client, which asks the sentinels again when its primary is gone.
        return _sentinel(url, common), None
    if is_cluster_url(url):
        cluster = _cluster(url, common)
        return cluster, ClusterReader(cluster) if url.lower().startswith("redis+cluster://") else None
    client = aioredis.Redis.from_url(url, **common)
    return client, PipelinedReader(url) if PipelinedReader.supports(url) else None


def cluster_startup_nodes(url: str) -> tuple[list[tuple[str, int]], str]:
    """The (host, port) startup nodes of a cluster URL, and the same URL with only the first node in
    redis-py's own form (for its parsing of credentials, TLS and query options)."""
    scheme, sep, rest = url.partition("://")
    base = CLUSTER_SCHEMES.get(scheme.lower())
    if not sep or base is None:
        raise ValueError(f"not a Redis Cluster URL (redis+cluster://host:port[,host:port…]): {_safe(url)}")
    authority, slash, tail = rest.partition("/")
    query = ""
    if "?" in authority:  # redis+cluster://h:p?x=1 (no slash before the query)
        authority, _, query = authority.partition("?")
        tail = "?" + query
    credentials, at, hosts = authority.rpartition("@")
    nodes = [_host_port(part) for part in hosts.split(",") if part.strip()]
    if not nodes:
        raise ValueError(f"a Redis Cluster URL needs at least one host:port: {_safe(url)}")
    first_host, first_port = nodes[0]
    host = f"[{first_host}]" if ":" in first_host else first_host
    single = f"{base}://{credentials}{at}{host}:{first_port}{slash or ('/' if tail else '')}{tail}"
    return nodes, single


def _cluster(url: str, common: dict[str, Any]) -> RedisCluster:
    nodes, single = cluster_startup_nodes(url)
    options: dict[str, Any] = dict(parse_url(single))
    options.pop("host", None)
    options.pop("port", None)
    if options.pop("db", 0):
        raise ValueError(f"Redis Cluster has only database 0: {_safe(url)}")
    if options.pop("connection_class", None) is SSLConnection:
        options["ssl"] = True
    kwargs = {**common, "max_connections": MAX_CONNECTIONS_PER_NODE, **options}
    try:
        return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes], **kwargs)
    except TypeError as exc:  # an option redis-py's cluster client does not know
        raise ValueError(f"unsupported option in the Redis Cluster URL {_safe(url)}: {exc}") from exc


async def close_client(client: Client) -> None:
    """Closes the client, and a Sentinel client's connections to the sentinels too."""
    await client.aclose()
    manager = getattr(getattr(client, "connection_pool", None), "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose()


def sentinel_parts(url: str) -> tuple[list[tuple[str, int]], str, dict[str, Any]]:
    """The sentinels' (host, port), the monitored master's name, and the connection options of a
    Sentinel URL (credentials and TLS are the primary's; the sentinels get the socket timeouts)."""
    scheme, sep, rest = url.partition("://")
    base = SENTINEL_SCHEMES.get(scheme.lower())
    authority, slash, tail = rest.partition("/")
    name, _, query = tail.partition("?")
    if not sep or base is None or not slash or not name or "/" in name:
        raise ValueError(
            f"not a Redis Sentinel URL (redis+sentinel://host:port[,host:port…]/master-name): {_safe(url)}"
        )
    credentials, at, hosts = authority.rpartition("@")
    nodes = [_host_port(part) for part in hosts.split(",") if part.strip()]
    if not nodes:
        raise ValueError(f"a Redis Sentinel URL needs at least one host:port: {_safe(url)}")
    options: dict[str, Any] = dict(parse_url(f"{base}://{credentials}{at}localhost/0{'?' + query if query else ''}"))
    for key in ("host", "port", "db"):
        options.pop(key, None)
    if options.pop("connection_class", None) is SSLConnection:
        options["ssl"] = True
    return nodes, name, options


def _sentinel(url: str, common: dict[str, Any]) -> aioredis.Redis:
    nodes, name, options = sentinel_parts(url)
    sentinels = Sentinel(nodes, sentinel_kwargs={k: v for k, v in common.items() if k.startswith("socket_")})
    try:
        client: aioredis.Redis = sentinels.master_for(name, **common, **options)
    except TypeError as exc:
        raise ValueError(f"unsupported option in the Redis Sentinel URL {_safe(url)}: {exc}") from exc
    return client


def _host_port(part: str) -> tuple[str, int]:
    part = part.strip()
    if part.startswith("["):  # [IPv6]:port
        host, _, port = part[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = part.rpartition(":") if ":" in part else (part, "", "")
    number = ascii_int(port, max_digits=5) if port else DEFAULT_PORT
    if not host or number is None:
        raise ValueError(f"not a host:port in a Redis Cluster URL: {part!r}")
    return host, number


def _safe(url: str) -> str:
    """The URL without its credentials, for error messages."""
    scheme, sep, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    return f"{scheme}{sep}{authority.rpartition('@')[2]}{slash}{tail}"
