"""The decision path's read on a Redis Cluster (store/cluster_reader.py): by slot owner over one
pipelined connection per master; a stale slot map is corrected on MOVED; any other trouble falls back
to the cluster client, so a read never fails where the cluster client would have answered."""

from __future__ import annotations

import asyncio

from redis.asyncio.cluster import ClusterNode
from redis.cluster import RedisCluster as SyncCluster

from consent_service.store.cluster_reader import ClusterReader
from consent_service.store.connect import connect
from consent_service.store.reader import PipelinedReader

KEYS = [f"dev:{i}" for i in range(60)]  # spread over the three masters' slots


def _fill(url: str) -> SyncCluster:
    client = SyncCluster.from_url(url.replace("redis+cluster://", "redis://", 1).split(",")[0], decode_responses=True)
    for key in KEYS:
        client.hset(key, mapping={"k": key, "é": "ü"})
    return client


def test_reads_every_slot_through_one_reader_per_master(cluster_redis_url: str) -> None:
    sync = _fill(cluster_redis_url)

    async def main() -> None:
        cluster, reader = connect(cluster_redis_url, 2.0)
        assert isinstance(reader, ClusterReader)
        try:
            results = await asyncio.gather(*(reader.hgetall(k, 2.0) for k in [*KEYS, "missing"] * 3))
            assert results == [*({"k": k, "é": "ü"} for k in KEYS), {}] * 3
            assert len(reader._readers) == 3  # one pipelined connection per master, no more
            assert all(isinstance(r, PipelinedReader) for r in reader._readers.values())
        finally:
            await reader.close()
            await cluster.aclose()

    asyncio.run(main())
    sync.close()


def test_a_stale_slot_map_is_corrected_and_a_bad_node_falls_back(cluster_redis_url: str) -> None:
    sync = _fill(cluster_redis_url)

    async def main() -> None:
        cluster, reader = connect(cluster_redis_url, 2.0)
        assert isinstance(reader, ClusterReader)
        try:
            await cluster.initialize()
            key = KEYS[0]
            slot = cluster.keyslot(key)
            owner = cluster.get_node_from_key(key)
            other = next(n for n in cluster.get_primaries() if n.name != owner.name)
            cluster.nodes_manager.slots_cache[slot] = [other]  # stale: the slot is not there
            assert await reader.hgetall(key, 2.0) == {"k": key, "é": "ü"}  # MOVED → new map → owner
            assert cluster.get_node_from_key(key).name == owner.name  # the map was read again
            nowhere = ClusterNode("127.0.0.1", 1)  # nobody listens: connection refused
            cluster.nodes_manager.slots_cache[slot] = [nowhere]
            assert await reader.hgetall(key, 2.0) == {"k": key, "é": "ü"}  # answered by the fallback
        finally:
            await reader.close()
            await cluster.aclose()

    asyncio.run(main())
    sync.close()


def test_tls_clusters_read_through_the_cluster_client() -> None:
    async def main() -> None:
        cluster, reader = connect("rediss+cluster://127.0.0.1:1", 1.0)
        assert reader is None
        await cluster.aclose()

    asyncio.run(main())
