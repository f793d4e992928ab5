"""The decision path's lean read on a Redis Cluster: one pipelined connection per master (issue 15).

reader.py's PipelinedReader speaks to one server; here each read goes to the reader of the master
that owns its key's slot, found in the cluster client's slot map (kept by redis-py, refreshed here
when it is stale). So a decision on a cluster costs about what it costs on a standalone Redis,
instead of redis-py's cluster client's ~5× more CPU per read (docs/capacity.md).

- `MOVED` (the slot is now elsewhere: a failover, a resharding): the slot map is read again and the
  read tried once more against the new owner.
- Anything else (`ASK` during a migration, a lost connection, a node not in the map, a second
  `MOVED`): the slot map is read again and the read falls back to the cluster client, which handles
  every case, within what is left of the read's budget. A read never fails here where the cluster
  client would have answered.

Plain TCP only, like PipelinedReader: a TLS cluster (`rediss+cluster://`) reads through the cluster
client.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from redis.asyncio.cluster import ClusterNode, RedisCluster

from consent_service.store.reader import PipelinedReader, ReaderError
from consent_service.store.slots import reread_slot_map, slot_owner

MOVED = "MOVED "


class ClusterReader:
    """HGETALL by slot owner, over one PipelinedReader per master."""

    def __init__(self, cluster: RedisCluster) -> None:
        self._cluster = cluster
        self._readers: dict[str, PipelinedReader] = {}  # by node name (host:port)

    async def hgetall(self, key: str, timeout_s: float) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            for _ in range(2):  # the owner, then the new owner after a MOVED
                node = await slot_owner(self._cluster, key)
                if node is None:
                    break
                try:
                    return await self._reader(node).hgetall(key, max(0.001, deadline - loop.time()))
                except ReaderError as exc:
                    await reread_slot_map(self._cluster)  # a MOVED, or a master gone: the map may be stale either way
                    if MOVED not in str(exc):
                        break
        except TimeoutError:
            raise ReaderError("the read timed out") from None
        return await self._fallback(key, deadline - loop.time())

    async def close(self) -> None:
        readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            await reader.close()

    def _reader(self, node: ClusterNode) -> PipelinedReader:
        reader = self._readers.get(node.name)
        if reader is None:
            reader = self._readers[node.name] = PipelinedReader(_node_url(node))
        return reader

    async def _fallback(self, key: str, timeout_s: float) -> dict[str, str]:
        if timeout_s <= 0:
            raise ReaderError("the read timed out")
        try:
            async with asyncio.timeout(timeout_s):
                raw = await self._cluster.hgetall(key)  # decoded: the client has decode_responses
        except Exception as exc:  # the caller fails closed on any trouble, as with the reader
            raise ReaderError(str(exc) or type(exc).__name__) from exc
        return {str(k): str(v) for k, v in raw.items()}


def _node_url(node: ClusterNode) -> str:
    """A plain `redis://` URL of one master, with the cluster's credentials (none are logged)."""
    options: dict[str, Any] = node.connection_kwargs
    user, password = options.get("username"), options.get("password")
    credentials = ""
    if password:
        credentials = f"{quote(str(user or ''), safe='')}:{quote(str(password), safe='')}@"
    host = f"[{node.host}]" if ":" in node.host else node.host
    return f"redis://{credentials}{host}:{node.port}/0"
