"""Receipts on Redis: memory per tracked message, and checks per second on one core.

Run:  python benchmarks/bench_receipts.py [--messages 20000] [--rounds 5] [--redis-url URL]

Without ``--redis-url`` a private ``redis-server`` is started on a free loopback port (and
stopped). Memory: ``used_memory`` before and after tracking N four-recipient text messages with
``RedisStore.merge_statuses`` (the state a ``message.sent`` creates), per message, beside the
compact JSON of the message itself; target: at most 2 KB of state beyond the message. Checks:
``ReceiptsHandlers.on_check`` (read the state, evaluate, queue the report on a ``MemoryQueue``,
delete the state) with this process pinned to one core, beside the floor measured in the same
run: raw redis-py ``HGETALL`` + ``DEL`` of the same keys. Medians over the rounds; target:
at least 2,000 checks/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from _processes import redis_server

from layer_webhooks import Hook, Job, MemoryQueue, Receipts
from layer_webhooks.adapters.redis import RedisStore
from layer_webhooks.receipts._handlers import ReceiptsHandlers
from layer_webhooks.receipts._rules import state_key
from layer_webhooks.testing import make_event

HOOK = Hook("Unread", "/unread", receipts=Receipts(delay="10 minutes", report_for_status=["sent", "delivered"]))


@contextmanager
def private_redis() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed; pass --redis-url")
    with tempfile.TemporaryDirectory() as directory, redis_server(Path(directory), appendonly=False) as url:
        yield url


def messages(count: int) -> list[dict]:
    recipients = {"bob": "sent", "carol": "delivered", "dave": "sent", "erin": "read"}
    return [
        make_event("message.sent", sender="alice", recipients=recipients, text="Lunch at noon?")["message"]
        for _ in range(count)
    ]


def track(store: RedisStore, batch: list[dict]) -> None:
    for message in batch:
        statuses = {user: status for user, status in message["recipient_status"].items()}
        store.merge_statuses(state_key(HOOK, message["id"]), statuses, 4200, message=message)


def memory(client: redis.Redis, store: RedisStore, batch: list[dict]) -> tuple[float, float]:
    client.flushdb()
    before = client.info("memory")["used_memory"]
    track(store, batch)
    after = client.info("memory")["used_memory"]
    message_bytes = statistics.mean(len(json.dumps(m, separators=(",", ":"))) for m in batch)
    return (after - before) / len(batch), message_bytes


def time_checks(store: RedisStore, batch: list[dict]) -> float:
    queue = MemoryQueue()
    handlers = ReceiptsHandlers(HOOK, queue, store)
    jobs = [Job("receipts:check:Unread", {"message_id": m["id"]}, f"check-{i}") for i, m in enumerate(batch)]
    start = time.perf_counter()
    for job in jobs:
        handlers.on_check(job)
    elapsed = time.perf_counter() - start
    assert len(queue.pending()) == len(batch), "every check must report"
    return elapsed


def time_floor(client: redis.Redis, store: RedisStore, batch: list[dict]) -> float:
    keys = [store.prefix + state_key(HOOK, m["id"]) for m in batch]
    start = time.perf_counter()
    for key in keys:
        client.hgetall(key)
        client.delete(key)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    batch = messages(args.messages)
    with private_redis() if args.redis_url is None else contextmanager(lambda: iter([args.redis_url]))() as url:
        client = redis.Redis.from_url(url)
        store = RedisStore(client, prefix="bench:")
        per_message, message_bytes = memory(client, store, batch)
        checks, floor = [], []
        for _ in range(args.rounds):
            client.flushdb()
            track(store, batch)
            floor.append(time_floor(client, store, batch))
            client.flushdb()
            track(store, batch)
            checks.append(time_checks(store, batch))
        client.flushdb()
    check_rate = args.messages / statistics.median(checks)
    floor_rate = args.messages / statistics.median(floor)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, pinned to 1 core"
    )
    print(f"tracked messages: {args.messages}, 4 recipients + sender, {args.rounds} rounds")
    print(f"redis memory per tracked message: {per_message:,.0f} B (the message's own JSON: {message_bytes:,.0f} B)")
    print(f"state beyond the message: {per_message - message_bytes:,.0f} B (target <= 2,048 B)")
    print(f"floor (HGETALL + DEL):  {floor_rate:,.0f} keys/s (median)")
    cost = floor_rate / check_rate
    print(f"ReceiptsHandlers.on_check: {check_rate:,.0f} checks/s (median), {cost:.2f}x the floor's cost")
    print("target: >= 2,000 checks/s")


if __name__ == "__main__":
    main()
