"""The pipelined read path: replies always meet their own request, stalls are recovered from."""

from __future__ import annotations

import asyncio

import pytest
import redis

from consent_service.store.reader import PipelinedReader, ReaderError


def test_reads_hashes_and_handles_missing_keys(redis_url: str, redis_client: redis.Redis) -> None:
    redis_client.hset("h1", mapping={"a": "1", "é": "ü"})

    async def main() -> None:
        reader = PipelinedReader(redis_url)
        try:
            assert await reader.hgetall("h1", 1.0) == {"a": "1", "é": "ü"}
            assert await reader.hgetall("missing", 1.0) == {}
            results = await asyncio.gather(*(reader.hgetall(k, 1.0) for k in ["h1", "missing"] * 200))
            assert results == [{"a": "1", "é": "ü"}, {}] * 200
        finally:
            await reader.close()

    asyncio.run(main())


def test_a_timed_out_read_never_shifts_the_replies_of_later_reads(redis_url: str, redis_client: redis.Redis) -> None:
    for i in range(5):
        redis_client.hset(f"k{i}", "v", str(i))

    async def main() -> None:
        reader = PipelinedReader(redis_url)
        try:
            assert await reader.hgetall("k0", 1.0) == {"v": "0"}
            redis_client.execute_command("CLIENT", "PAUSE", "300", "ALL")
            with pytest.raises(ReaderError):
                await reader.hgetall("k1", 0.05)  # times out; its reply arrives later
            with pytest.raises(ReaderError):
                await reader.hgetall("k2", 0.05)
            await asyncio.sleep(0.4)
            assert await asyncio.gather(*(reader.hgetall(f"k{i}", 1.0) for i in (3, 4, 0))) == [
                {"v": "3"},
                {"v": "4"},
                {"v": "0"},
            ]
        finally:
            await reader.close()

    asyncio.run(main())


def test_a_stuck_connection_is_replaced(redis_url: str, redis_client: redis.Redis) -> None:
    redis_client.hset("k", "v", "1")

    async def main() -> None:
        reader = PipelinedReader(redis_url)
        try:
            assert await reader.hgetall("k", 1.0) == {"v": "1"}
            first = reader._conn
            redis_client.execute_command("CLIENT", "PAUSE", "1500", "ALL")
            with pytest.raises(ReaderError):
                await reader.hgetall("k", 0.05)
            await asyncio.sleep(1.1)  # the unanswered read is now older than STALE_AFTER_S
            redis_client.execute_command("CLIENT", "UNPAUSE")
            assert await reader.hgetall("k", 1.0) == {"v": "1"}
            assert reader._conn is not first
        finally:
            await reader.close()

    asyncio.run(main())


def test_database_number_and_errors(redis_url: str, redis_client: redis.Redis) -> None:
    with redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/3", decode_responses=True) as db3:
        db3.hset("only-in-3", "v", "3")
    redis_client.set("a-string", "x")

    async def main() -> None:
        reader = PipelinedReader(redis_url.rsplit("/", 1)[0] + "/3")
        plain = PipelinedReader(redis_url)
        try:
            assert await reader.hgetall("only-in-3", 1.0) == {"v": "3"}
            with pytest.raises(ReaderError, match="WRONGTYPE"):
                await plain.hgetall("a-string", 1.0)
            assert await plain.hgetall("only-in-3", 1.0) == {}
        finally:
            await reader.close()
            await plain.close()

    asyncio.run(main())


def test_unreachable_redis_is_a_reader_error() -> None:
    async def main() -> None:
        reader = PipelinedReader("redis://127.0.0.1:1/0")
        with pytest.raises(ReaderError):
            await reader.hgetall("k", 0.5)
        await reader.close()

    asyncio.run(main())
