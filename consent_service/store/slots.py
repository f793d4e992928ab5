"""A Redis Cluster's slot map, as the store's cluster paths use it: which master serves a key, and
reading the map again after a `MOVED` or a failover (records.py's write deadlines, replicated.py's
waited writes, cluster_reader.py's reads)."""

from __future__ import annotations

import contextlib

from redis.asyncio.cluster import ClusterNode, RedisCluster

from consent_service.store.errors import REDIS_ERRORS


async def slot_owner(cluster: RedisCluster, key: str) -> ClusterNode | None:
    """The master that serves `key`'s slot in the client's map (read from the cluster on first use)."""
    await cluster.initialize()  # a no-op once the map is known
    return cluster.get_node_from_key(key)


async def reread_slot_map(cluster: RedisCluster) -> None:
    """Ask the cluster for its map again; when no node answers yet, the next attempt asks again."""
    with contextlib.suppress(*REDIS_ERRORS):
        await cluster.nodes_manager.initialize()
