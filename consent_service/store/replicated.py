"""Writes that count as done only once N replicas have them (`CONSENT_REDIS_WAIT_REPLICAS=N`, issue 15).

The write script and `WAIT N timeout` go down **one connection to the primary that holds the keys**:
WAIT counts the writes of its own connection, so on a standalone Redis that is the client's pipeline,
and on a cluster a pipeline to the slot's owner through a plain connection pool of that node (the
cluster client would route a keyless WAIT to any node). The answer is confirmed, or it is not:

- WAIT answered N or more: confirmed.
- Fewer in time: StoreUnavailable. The change may be on the primary, but a failover could lose it, so
  it is not acknowledged: an opt-out is then carried in its signed token and written again later (the
  script is idempotent by change id), a consent answers 503.
- The script found its change already written (`_REPEATED`, a retry after a lost answer): that
  earlier write's replication cannot be seen from this connection, so it is unconfirmed too.

On a cluster, `MOVED`/`ASK` (a slot that moved), `CLUSTERDOWN`/`TRYAGAIN` and a lost connection (a
master that died, a failover in progress) refresh the slot map and try again against the new owner,
until the caller's deadline (its `asyncio.timeout`) ends the attempts. What WAIT promises: the
replicas hold the change in memory, not on disk (docs/deploy.md: with `appendfsync always` on the
replicas as well, and `min-replicas-to-write` as a complement).
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import AskError, ClusterDownError, MovedError, RedisClusterException, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from consent_service.store.connect import Client
from consent_service.store.errors import StoreUnavailable
from consent_service.store.slots import reread_slot_map, slot_owner

WRITTEN, REPEATED = 1, 0  # the write script's statuses (records.py)
# A cluster that is failing over answers these until a replica is promoted and the slot map is new.
# RedisClusterException: the cluster client's "no node answered" while it looks for the new map.
TOPOLOGY_ERRORS = (MovedError, AskError, ClusterDownError, TryAgainError, RedisConnectionError, RedisTimeoutError,
                   RedisClusterException, ConnectionError, OSError)  # fmt: skip
RETRY_PAUSE_S = 0.05  # between two attempts on a cluster: the failover needs time, not a busy loop


class ReplicatedWrites:
    """Runs a write script and WAIT on one connection to the keys' primary (standalone or cluster)."""

    def __init__(self, client: Client, replicas: int) -> None:
        self._client = client
        self._replicas = replicas
        self._nodes: dict[str, aioredis.Redis] = {}  # a cluster's primaries by name (host:port)

    async def run(self, script: AsyncScript, keys: list[str], args: list[Any], wait_ms: int) -> list[Any]:
        """The script's answer once `replicas` replicas have its write; StoreUnavailable otherwise."""
        if not isinstance(self._client, RedisCluster):
            return self._confirmed(*await self._on(self._client, script, keys, args, wait_ms))
        while True:
            try:
                node = await slot_owner(self._client, keys[0])
                if node is None:
                    raise ClusterDownError(f"no master serves the slot of {keys[0]!r}")
                return self._confirmed(*await self._on(self._node_client(node), script, keys, args, wait_ms))
            except TOPOLOGY_ERRORS:
                # The slot moved or its master is gone: ask the cluster again, until the deadline.
                await asyncio.sleep(RETRY_PAUSE_S)
                await reread_slot_map(self._client)

    async def close(self) -> None:
        nodes, self._nodes = list(self._nodes.values()), {}
        for client in nodes:
            await client.aclose(close_connection_pool=True)  # a pool given to it is not closed otherwise

    async def _on(
        self, client: aioredis.Redis, script: AsyncScript, keys: list[str], args: list[Any], wait_ms: int
    ) -> tuple[list[Any], int]:
        # `async with`: the pipeline gives its connection back however it ends. Its script check runs
        # before `execute` guards the connection, so a failover there would otherwise leave it held.
        async with client.pipeline(transaction=False) as pipe:
            await script(keys=keys, args=args, client=pipe)
            pipe.execute_command("WAIT", self._replicas, max(1, wait_ms))
            result, acknowledged = await pipe.execute()
        return list(result), int(acknowledged)

    def _confirmed(self, result: list[Any], acknowledged: int) -> list[Any]:
        if result[0] == REPEATED:
            raise StoreUnavailable("a retried write could not be confirmed on the replicas")
        if result[0] == WRITTEN and acknowledged < self._replicas:
            raise StoreUnavailable(f"the write reached {acknowledged} of {self._replicas} replicas in time")
        return result

    def _node_client(self, node: ClusterNode) -> aioredis.Redis:
        """A plain client of one primary, with the cluster client's own connection options (TLS,
        credentials, timeouts), kept for the life of the store."""
        client = self._nodes.get(node.name)
        if client is None:
            options = {k: v for k, v in node.connection_kwargs.items() if k != "event_dispatcher"}
            pool = aioredis.ConnectionPool(connection_class=node.connection_class, **options)
            client = self._nodes[node.name] = aioredis.Redis(connection_pool=pool)
        return client
