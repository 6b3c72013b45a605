"""HueyQueue on Redis against floors measured in the same run: enqueue, HTTP, and the consumers' drain.

Run from the checkout root:

    python benchmarks/bench_huey.py [--rounds 2] [--duration 10] [--connections 32]
        [--p99-connections 64] [--jobs 10000] [--gunicorn gthread-8] [--appendonly]
        [--skip enqueue|http|drain] [--quick]

The full run takes about 4 minutes on a 2-core machine, ``--quick`` (1 round, 3 s runs, 3,000
jobs) about 1. Needs redis-server, wrk, uvicorn with uvloop and httptools (``uvicorn[standard]``;
the run stops if either is missing), gunicorn, huey and redis-py. It starts a private
redis-server (no persistence unless ``--appendonly``: AOF, ``everysec``), and every server and
consumer it measures. Each round runs every measurement once (the order reversed every other
round); the medians over the rounds are printed, each ratio the median of the per-round ratios
against a floor measured in the same round.

1. Enqueue, in this process, of a ~1.5 KB ``message.sent`` job: raw redis-py ``LPUSH`` of the
   same record, one round trip each, and grouped (``--connections`` values per ``LPUSH``);
   ``HueyQueue.enqueue``; ``HueyQueue.enqueue_async`` from ``--connections`` concurrent callers.
2. HTTP, ``wrk -t1 -c<connections> -d<duration>s``, each request its own signed ``message.sent``
   with its own event id (see ``bench_http``, which shares this machinery and measures every
   server): the raw durable floor (``benchmarks/_floor.py``: uvloop + httptools, HMAC-SHA1,
   ``json.loads``, a grouped ``LPUSH`` before each 200), then uvicorn 1 worker (``--loop uvloop
   --http httptools``) and ``--gunicorn`` (``gthread-<n>``: 2 gthread workers of n threads,
   keep-alive; ``gunicorn-sync``: 2 sync workers), each with the receiver on one huey enqueue per
   request and on ``HueyQueue``. Every 2xx is checked against the jobs found in Redis afterwards
   (a shortfall is reported as LOST; the script exits 1). The durable floor and uvicorn +
   ``HueyQueue`` are measured again at ``--p99-connections``.
3. Drain: ``--jobs`` jobs queued, then ``huey_consumer benchmarks._web.huey -k thread -w 1`` and
   ``-w 2``, timed from the first dequeue until every job is finished: the plain-huey floor (an
   empty huey task given the same event data, on the same ``RedisHuey``) beside ``HueyQueue`` with
   an empty handler.

Targets (issue 15): uvicorn + ``HueyQueue`` >= 50% of the durable floor, p99 <= 50 ms at 64
connections; gunicorn + ``HueyQueue`` >= 2x one huey enqueue per request; drain >= 70% of the
plain-huey floor (and >= 3x the issue's 1,562 jobs/s, printed as a note only: that figure comes
from another session). The machine is shared: compare ratios, not absolute figures, between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._processes import cpu_seconds, redis_server, running
from benchmarks._web import (
    HOOK_NAME,
    ROOT,
    Bench,
    Deliveries,
    check_tools,
    empty_task,
    gthread,
    label,
    make_huey,
    median,
    ratio,
)
from benchmarks.bench_core import make_bodies

# The drain figures (jobs/s), from another session: a note only (--baseline measures one).
TODAY = {"thread-1": 1_562, "thread-2": 1_153}


def job_data() -> dict[str, Any]:
    """The data of the job the receiver makes for a ~1.5 KB message.sent (the listen shape)."""
    payload = json.loads(make_bodies(1)[0])
    return {
        "title": HOOK_NAME,
        "timestamp": payload["event"]["created_at"],
        "type": "message.sent",
        "event_id": payload["event"]["id"],
        "config": None,
        "message": payload["message"],
    }


# -- 1. enqueue ------------------------------------------------------------------------------


def enqueue_round(redis_url: str, jobs: int, concurrency: int) -> dict[str, float]:
    import redis

    from layer_webhooks.adapters.huey import HueyQueue

    data = job_data()
    record = json.dumps({"name": HOOK_NAME, "data": data}, ensure_ascii=False)
    client = redis.Redis.from_url(redis_url)
    rates = {}
    client.flushall()
    started = time.perf_counter()
    for _ in range(jobs):
        client.lpush("bench.floor", record)
    rates["lpush"] = jobs / (time.perf_counter() - started)
    client.flushall()
    batches = jobs // concurrency
    started = time.perf_counter()
    for _ in range(batches):
        client.lpush("bench.floor", *[record] * concurrency)
    rates["grouped"] = batches * concurrency / (time.perf_counter() - started)
    client.flushall()

    queue = HueyQueue(make_huey(redis_url, f"e{uuid.uuid4().hex[:8]}"))
    started = time.perf_counter()
    for _ in range(jobs):
        queue.enqueue(HOOK_NAME, data)
    rates["enqueue"] = jobs / (time.perf_counter() - started)

    async def caller(count: int) -> None:
        for _ in range(count):
            await queue.enqueue_async(HOOK_NAME, data)

    async def callers() -> None:
        await asyncio.gather(*(caller(batches) for _ in range(concurrency)))

    started = time.perf_counter()
    asyncio.run(callers())
    rates["enqueue_async"] = batches * concurrency / (time.perf_counter() - started)
    queue.close()
    client.flushall()
    return rates


# -- 3. drain --------------------------------------------------------------------------------


async def _fill(queue: Any, data: Mapping[str, Any], jobs: int) -> None:
    for start in range(0, jobs, 500):
        await asyncio.gather(*(queue.enqueue_async(HOOK_NAME, data) for _ in range(min(500, jobs - start))))


def drain(
    redis_url: str, directory: Path, kind: str, setting: str, jobs: int, baseline: Path | None = None
) -> tuple[float, float]:
    """Jobs/s of one consumer (``kind`` plain, hueyqueue, or baseline: hueyqueue on the library
    at ``baseline``) run with ``setting`` (``thread-2``: ``-k thread -w 2``), from its first
    dequeue to the last finish, and the consumer's CPU per job (us)."""
    from layer_webhooks.adapters.huey import HueyQueue

    name = f"d{uuid.uuid4().hex[:8]}"
    instance, data = make_huey(redis_url, name), job_data()
    instance.storage.conn.flushall()
    queue: HueyQueue | None = None
    if kind == "plain":
        task = instance.task(name="bench_empty")(empty_task)
        for _ in range(jobs):
            task(HOOK_NAME, data)
    else:
        queue = HueyQueue(instance)
        asyncio.run(_fill(queue, data, jobs))
    if instance.pending_count() != jobs:
        raise RuntimeError(f"{kind}: {instance.pending_count()} messages queued for {jobs} jobs")
    # python -m puts the working directory first on sys.path: the baseline's library is found there.
    where = ROOT if kind != "baseline" else _library_only(directory, baseline)
    path = str(ROOT) if kind != "baseline" else f"{where}{os.pathsep}{ROOT}"
    env = {"BENCH_CONSUMER": "plain" if kind == "plain" else "hueyqueue", "BENCH_REDIS_URL": redis_url}
    env |= {"BENCH_HUEY_NAME": name, "PYTHONPATH": path}
    worker_type, workers = setting.split("-")
    command = [sys.executable, "-m", "huey.bin.huey_consumer", "benchmarks._web.huey", "-w", workers, "-k", worker_type]
    log = directory / f"consumer-{kind}.log"
    with running(command, log=log, env=env, cwd=where) as process:
        deadline = time.monotonic() + 300
        while instance.pending_count() == jobs:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} consumer never started: see {log}")
            time.sleep(0.002)
        started, left, cpu = time.perf_counter(), instance.pending_count(), cpu_seconds(process.pid)
        while instance.pending_count() or (queue is not None and queue.pending()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} consumer did not drain its queue")
            time.sleep(0.002 if not instance.pending_count() else 0.01)
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(process.pid) - cpu
    if queue is not None:
        if dead := queue.dead_letters():
            raise RuntimeError(f"{len(dead)} dead letters after the drain")
        queue.close()
    instance.storage.conn.flushall()
    return left / elapsed, cpu / left * 1e6


def _library_only(directory: Path, baseline: Path | None) -> Path:
    """A directory holding only ``layer_webhooks`` from ``baseline`` (this checkout's benchmarks stay)."""
    if baseline is None:
        raise RuntimeError("a baseline drain needs --baseline")
    only = directory / "baseline-library"
    if not only.exists():
        only.mkdir()
        (only / "layer_webhooks").symlink_to(baseline.resolve() / "layer_webhooks")
    return only


def drain_round(
    redis_url: str, directory: Path, jobs: int, settings: list[str], baseline: Path | None, reverse: bool
) -> dict[tuple[str, str], tuple[float, float]]:
    kinds = ["plain", "hueyqueue", *(["baseline"] if baseline else [])]
    order = [(kind, setting) for setting in settings for kind in kinds]
    rates = {}
    for kind, setting in order[::-1] if reverse else order:
        rate, cpu = rates[(kind, setting)] = drain(redis_url, directory, kind, setting, jobs, baseline)
        print(f"  drain {kind:9} {setting:9}: {rate:7,.0f} jobs/s  consumer CPU {cpu:4.0f} us/job", flush=True)
    return rates


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--p99-connections", type=int, default=64, help="0: skip the p99 runs")
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs per enqueue and drain measurement")
    parser.add_argument("--gunicorn", default="gthread-8", help="gthread-<threads> or gunicorn-sync")
    parser.add_argument("--appendonly", action="store_true", help="Redis with AOF (everysec) instead of none")
    parser.add_argument("--skip", action="append", default=[], choices=["enqueue", "http", "drain"])
    parser.add_argument(
        "--drain", default="thread-1,thread-2", help="consumer settings, as <thread|process>-<workers>,..."
    )
    parser.add_argument("--baseline", type=Path, help="a checkout whose library's drain is measured beside this one")
    parser.add_argument("--quick", action="store_true", help="1 round, 3 s runs, 3,000 jobs (about 1 minute)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.jobs = 1, 3, 3_000
    gunicorn = args.gunicorn
    if gunicorn.startswith("gthread-") and gunicorn[8:].isdigit():
        gunicorn = gthread(int(gunicorn[8:]))
    elif gunicorn != "gunicorn-sync":
        sys.exit("--gunicorn: gthread-<threads> or gunicorn-sync")
    check_tools(["uvicorn-1", gunicorn])
    settings = args.drain.split(",")
    for setting in settings:
        worker_type, _, workers = setting.partition("-")
        if worker_type not in ("thread", "process") or not workers.isdigit() or int(workers) < 1:
            sys.exit(f"--drain: {setting!r} is not <thread|process>-<workers>, such as thread-2")
    if args.baseline is not None and not (args.baseline / "layer_webhooks" / "__init__.py").exists():
        sys.exit(f"--baseline: {args.baseline} holds no layer_webhooks package (a checkout of this project)")
    c, c99 = args.connections, args.p99_connections
    cells = [("floor", "durable", c)]
    cells += [(server, variant, c) for server in ("uvicorn-1", gunicorn) for variant in ("roundtrip", "hueyqueue")]
    if c99:
        cells += [("floor", "durable", c99), ("uvicorn-1", "hueyqueue", c99)]

    began = time.monotonic()
    persistence = "AOF, appendfsync everysec" if args.appendonly else "no persistence"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}")
    print(f"Redis: {persistence}, on the same cores; {args.rounds} interleaved round(s)")
    enqueues: list[dict[str, float]] = []
    https: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    drains: list[dict[tuple[str, int], tuple[float, float]]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench_huey-") as tmp,
        redis_server(Path(tmp), appendonly=args.appendonly) as url,
    ):
        bench: Bench | None = None
        if "http" not in args.skip:
            deliveries = Deliveries(Path(tmp), int(30_000 * args.duration))
            bench = Bench(url, Path(tmp), deliveries, Deliveries(Path(tmp), 40_000), args.duration)
        for n in range(1, args.rounds + 1):
            print(f"round {n}", flush=True)
            if "enqueue" not in args.skip:
                enqueues.append(enqueue_round(url, args.jobs, c))
                print("  enqueue: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in enqueues[-1].items()), flush=True)
            if bench is not None:
                for cell in cells if n % 2 else cells[::-1]:
                    run = bench.measure(*cell)
                    https.setdefault(cell, []).append(run)
                    print(
                        f"  {cell[0]:13} {cell[1]:9} c{cell[2]:<3} {run['rps']:8,.0f} req/s  p99 {run['p99']:6.1f} ms"
                        f"  server CPU {run['cpu']:4.0f} us/req  Redis CPU {run['redis_cpu']:3.0f} us/req",
                        flush=True,
                    )
            if "drain" not in args.skip:
                drains.append(drain_round(url, Path(tmp), args.jobs, settings, args.baseline, reverse=n % 2 == 0))

    print(f"\nmedians over {args.rounds} round(s); Redis {persistence}")
    if enqueues:
        rate = {k: statistics.median(r[k] for r in enqueues) for k in enqueues[0]}
        floor = rate["lpush"]
        print(f"enqueue, in process (jobs/s), {args.jobs:,} jobs of ~1.5 KB")
        print(f"  raw LPUSH, 1 round trip each (floor)        {floor:8,.0f}")
        print(
            f"  raw LPUSH, {c} values each                   {rate['grouped']:8,.0f}  {rate['grouped'] / floor:5.2f}x"
        )
        print(f"  HueyQueue.enqueue                           {rate['enqueue']:8,.0f}  {rate['enqueue'] / floor:5.2f}x")
        print(
            f"  HueyQueue.enqueue_async, {c} callers          {rate['enqueue_async']:8,.0f}  "
            f"{rate['enqueue_async'] / floor:5.2f}x; {rate['enqueue_async'] / rate['grouped']:.0%} of grouped LPUSH"
        )
    if https:
        floor_runs = https[("floor", "durable", c)]
        print(f"HTTP, wrk -t1 -c{c} -d{args.duration:g}s (req/s, p99, ratio per round)")
        print(f"  {label('floor')}, HMAC + json.loads + grouped LPUSH: {_figure(floor_runs)}")
        for server in ("uvicorn-1", gunicorn):
            trip, hq = https[(server, "roundtrip", c)], https[(server, "hueyqueue", c)]
            print(f"  {label(server)}")
            print(f"    + one huey enqueue per request: {_figure(trip)}  {ratio(trip, floor_runs):4.0%} of the floor")
            print(
                f"    + HueyQueue:                    {_figure(hq)}  {ratio(hq, floor_runs):4.0%} of the floor,"
                f" {ratio(hq, trip):.2f}x one huey enqueue"
            )
        uvicorn = https[("uvicorn-1", "hueyqueue", c)]
        share = ratio(uvicorn, floor_runs)
        floor_cpu, uvicorn_cpu = (median(r, "cpu") + median(r, "redis_cpu") for r in (floor_runs, uvicorn))
        cpu = statistics.median(
            (f["cpu"] + f["redis_cpu"]) / (u["cpu"] + u["redis_cpu"]) for f, u in zip(floor_runs, uvicorn, strict=True)
        )
        print("targets:")
        verdict = _verdict(share >= 0.5)
        print(f"  uvicorn 1 worker + HueyQueue: {share:.0%} of the durable floor (target >= 50%): {verdict}")
        print(
            f"    CPU per request (server + Redis): {uvicorn_cpu:.0f} us, the floor's {floor_cpu:.0f} us:"
            f" {cpu:.0%} (the share a CPU-bound run would reach; steadier on a busy machine)"
        )
        if c99:
            own, floor99 = https[("uvicorn-1", "hueyqueue", c99)], https[("floor", "durable", c99)]
            print(
                f"    at {c99} connections: {_figure(own)}, p99 target <= 50 ms: {_verdict(median(own, 'p99') <= 50)};"
                f" {ratio(own, floor99):.0%} of the floor ({_figure(floor99).strip()})"
            )
        times = ratio(https[(gunicorn, "hueyqueue", c)], https[(gunicorn, "roundtrip", c)])
        print(f"  {label(gunicorn)} + HueyQueue: {times:.2f}x one huey enqueue (target >= 2x): {_verdict(times >= 2)}")
    if drains:
        print(f"drain, {args.jobs:,} jobs, huey_consumer (jobs/s, from the first dequeue to the last finish)")
        for setting in settings:

            def rate(kind: str, at: int = 0, setting: str = setting) -> float:
                return statistics.median(r[(kind, setting)][at] for r in drains)

            share = statistics.median(r[("hueyqueue", setting)][0] / r[("plain", setting)][0] for r in drains)
            worker_type, workers = setting.split("-")
            print(
                f"  -k {worker_type} -w {workers}: plain huey, empty task (floor) {rate('plain'):7,.0f}"
                f" ({rate('plain', 1):.0f} us CPU/job)   HueyQueue, empty handler {rate('hueyqueue'):7,.0f}"
                f" ({rate('hueyqueue', 1):.0f} us CPU/job)"
            )
            print(f"        HueyQueue = {share:.0%} of the plain-huey floor (target >= 70%): {_verdict(share >= 0.7)}")
            if args.baseline:
                times = statistics.median(r[("hueyqueue", setting)][0] / r[("baseline", setting)][0] for r in drains)
                print(
                    f"        HueyQueue = {times:.2f}x the baseline ({args.baseline}: {rate('baseline'):,.0f} jobs/s,"
                    f" {rate('baseline', 1):.0f} us CPU/job; target >= 3x): {_verdict(times >= 3)}"
                )
            if setting in TODAY:
                print(f"        note: {rate('hueyqueue') / TODAY[setting]:.1f}x the issue's {TODAY[setting]:,} jobs/s")
    print(f"\n{time.monotonic() - began:.0f} s in all")
    if bench is not None and bench.failures:
        print("LOST (answered 2xx, not found in Redis):\n  " + "\n  ".join(bench.failures))
        sys.exit(1)


def _figure(runs: list[dict[str, float]]) -> str:
    return f"{median(runs, 'rps'):7,.0f} req/s, p99 {median(runs, 'p99'):5.1f} ms"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    main()
