"""Requests/s and p99 of the webhook path on real servers, beside a raw floor measured in the same run.

Run from the checkout root:

    python -m benchmarks.bench_http [--rounds 3] [--duration 10] [--connections 32]
        [--p99-connections 64] [--servers uvicorn-1,uvicorn-2,gunicorn-sync,gthread-8]
        [--variants bare,memory,roundtrip,hueyqueue[,receiver]] [--deliveries N] [--appendonly] [--quick]

(``python benchmarks/bench_http.py`` works too.) The full run takes about 14 minutes on a
2-core machine; ``--quick`` (1 round of 2 s runs) about 1.5. Needs wrk, redis-server, uvicorn
with uvloop and httptools (``uvicorn[standard]``: uvicorn runs ``--loop uvloop --http
httptools``; the run stops if either is missing), gunicorn, huey and redis-py.

It starts a private redis-server (no persistence unless ``--appendonly``: AOF, ``everysec``)
and, for each cell of the table, a fresh server on a free loopback port, warms it up for 1 s,
flushes Redis and measures with ``wrk -t1 -c<connections> -d<duration>s``. Each request posts
its own signed ~1.5 KB ``message.sent`` with its own event id (a template and ``--deliveries``
precomputed signatures, filled in by wrk's Lua script), so that every request takes the whole
accept path. Rows (``--servers``):

- ``uvicorn-1``, ``uvicorn-2``: uvicorn, 1 or 2 worker processes, the ASGI ``WebhookApp``;
- ``gunicorn-sync``: gunicorn, 2 sync workers (a connection per request), ``WebhookMiddleware``;
- ``gthread-<n>``: gunicorn, 2 ``gthread`` workers of ``n`` threads, ``--keep-alive 5``
  (connections kept alive), ``WebhookMiddleware``;
- the raw floor, ``benchmarks/_floor.py`` (always measured): one process, uvloop + httptools
  driven directly, ``bare`` (200 once the body is read) and ``durable`` (HMAC-SHA1 check,
  ``json.loads``, a grouped ``LPUSH`` of the bodies before each 200).

Columns (``--variants``, see ``benchmarks/_web.py``): ``bare`` (the server alone), ``memory``
(receiver + ``MemoryQueue``), ``roundtrip`` (receiver + one huey enqueue per request),
``hueyqueue`` (receiver + ``HueyQueue``); and, asked for by name only, ``receiver`` (the receiver
on a queue that keeps nothing: what the receiver costs with no write behind it). After each run
the jobs found in Redis are counted against the 2xx answers (the floor's list, huey's queue,
``HueyQueue.pending()``); a shortfall is reported as LOST and makes the script exit 1.
``--p99-connections`` (0: skip) re-measures the durable floor and uvicorn-1 + ``HueyQueue`` at
that many connections, for the p99 target.

Rounds are interleaved (every cell once per round, the order reversed every other round); the
table gives medians, and each ratio is the median of the per-round ratios against the floor
(or bare) measured in the same round. Targets (issue 15): uvicorn 1 worker + ``HueyQueue`` >= 50%
of the durable floor, p99 <= 50 ms at 64 connections; receiver + ``MemoryQueue`` on uvicorn >= 50%
of bare; gunicorn + ``HueyQueue`` >= 2x one huey enqueue per request. Each target's line gives
every round's ratio beside the median. The machine is shared: compare ratios, not absolute
figures, between runs.

Last, the CPU budgets: what each target allows a request in CPU (server + Redis), were the run
CPU-bound (twice the floor's, twice bare's, half one enqueue's), beside what the server's bare
endpoint takes of it and what the library's cells use over bare (with ``receiver`` among the
variants, the receiver alone too); and what this machine charges for a thread hand-off and a
Redis round trip (``benchmarks/_costs.py``): a group commit's follower thread pays a wake-up
where a request that writes alone pays a round trip.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/bench_http.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._costs import redis_round_trip, thread_wakeups
from benchmarks._processes import redis_server
from benchmarks._web import LABELS, SERVERS, Bench, Deliveries, check_tools, gthread, label, median, ratio, ratios

Cell = tuple[str, str, int]  # server, variant, connections
Runs = dict[Cell, list[dict[str, float]]]


def parse_servers(text: str) -> list[str]:
    servers = []
    for name in filter(None, text.split(",")):
        if name.startswith("gthread-") and name[8:].isdigit():
            name = gthread(int(name[8:]))
        if name not in SERVERS:
            sys.exit(f"unknown server {name!r}: one of {', '.join(SERVERS)} or gthread-<threads>")
        servers.append(name)
    return servers


def cell_text(run: dict[str, float]) -> str:
    return (
        f"{run['rps']:8,.0f} req/s  p50 {run['p50']:5.1f} ms  p99 {run['p99']:6.1f} ms  "
        f"server CPU {run['cpu']:4.0f} us/req  Redis CPU {run['redis_cpu']:3.0f} us/req"
    )


def table(runs: Runs, servers: list[str], variants: list[str], connections: int) -> list[str]:
    """The issue's table: median req/s and p99, and each cell's ratio to its base in the same round."""
    floor_bare, floor_durable = runs[("floor", "bare", connections)], runs[("floor", "durable", connections)]
    header = "| req/s, p99 (ratio in the same run) | " + " | ".join(LABELS[v] for v in variants) + " |"
    lines = [header, "|---" * (len(variants) + 1) + "|"]

    def figure(cell_runs: list[dict[str, float]]) -> str:
        return f"{median(cell_runs, 'rps'):,.0f} / {median(cell_runs, 'p99'):.1f} ms"

    for server in servers:
        cells = []
        for variant in variants:
            own = runs[(server, variant, connections)]
            if variant == "bare":
                cells.append(f"{figure(own)} ({ratio(own, floor_bare):.0%} of floor bare)")
            elif variant in ("memory", "receiver") and "bare" in variants:
                cells.append(f"{figure(own)} ({ratio(own, runs[(server, 'bare', connections)]):.0%} of bare)")
            elif variant in ("memory", "receiver"):
                cells.append(figure(own))
            else:
                cells.append(f"{figure(own)} ({ratio(own, floor_durable):.0%} of floor durable)")
        lines.append(f"| {label(server)} | " + " | ".join(cells) + " |")
    floor_cells = [
        figure(floor_bare) if v == "bare" else figure(floor_durable) if v == "hueyqueue" else "—" for v in variants
    ]
    lines.append(f"| {label('floor')}: bare / HMAC + json.loads + grouped LPUSH | " + " | ".join(floor_cells) + " |")
    return lines


def total_cpu(cell_runs: list[dict[str, float]]) -> float:
    """A cell's median CPU a request, server and Redis (us)."""
    return median(cell_runs, "cpu") + median(cell_runs, "redis_cpu")


def targets(runs: Runs, servers: list[str], variants: list[str], connections: int, p99_connections: int) -> list[str]:
    lines = []
    c = connections

    def verdict(ok: bool, cell: list[dict[str, float]], base: list[dict[str, float]], percent: bool = True) -> str:
        each = ", ".join(f"{r:.0%}" if percent else f"{r:.2f}x" for r in ratios(cell, base))
        return ("met" if ok else "NOT met") + f" (each round: {each})"

    if "uvicorn-1" in servers and "hueyqueue" in variants:
        floor_runs, uvicorn = runs[("floor", "durable", c)], runs[("uvicorn-1", "hueyqueue", c)]
        share = ratio(uvicorn, floor_runs)
        lines.append(
            f"uvicorn 1 worker + HueyQueue: {share:.0%} of the durable floor (target >= 50%):"
            f" {verdict(share >= 0.5, uvicorn, floor_runs)}"
        )
        cpu = statistics.median(
            (f["cpu"] + f["redis_cpu"]) / (u["cpu"] + u["redis_cpu"]) for f, u in zip(floor_runs, uvicorn, strict=True)
        )
        lines.append(
            f"  CPU per request (server + Redis): {total_cpu(uvicorn):.0f} us,"
            f" the floor's {total_cpu(floor_runs):.0f} us: {cpu:.0%}"
            " (the share a CPU-bound run would reach; steadier on a busy machine)"
        )
        if p99_connections:
            own, floor = runs[("uvicorn-1", "hueyqueue", p99_connections)], runs[("floor", "durable", p99_connections)]
            p99 = median(own, "p99")
            lines.append(
                f"  at {p99_connections} connections: {median(own, 'rps'):,.0f} req/s, p99 {p99:.1f} ms"
                f" (target <= 50 ms): {'met' if p99 <= 50 else 'NOT met'}; {ratio(own, floor):.0%} of the durable floor"
                f" ({median(floor, 'rps'):,.0f} req/s, p99 {median(floor, 'p99'):.1f} ms)"
            )
    for server in servers:
        if server.startswith("uvicorn") and {"bare", "memory"} <= set(variants):
            memory, bare = runs[(server, "memory", c)], runs[(server, "bare", c)]
            share = ratio(memory, bare)
            lines.append(
                f"{label(server)} receiver + MemoryQueue: {share:.0%} of bare (target >= 50%):"
                f" {verdict(share >= 0.5, memory, bare)}"
            )
        if server.startswith(("gunicorn", "gthread")) and {"roundtrip", "hueyqueue"} <= set(variants):
            hueyqueue, roundtrip = runs[(server, "hueyqueue", c)], runs[(server, "roundtrip", c)]
            times = ratio(hueyqueue, roundtrip)
            lines.append(
                f"{label(server)} HueyQueue: {times:.2f}x one huey enqueue per request"
                f" (target >= 2x): {verdict(times >= 2, hueyqueue, roundtrip, percent=False)}"
            )
    return lines


def budgets(runs: Runs, servers: list[str], variants: list[str], connections: int) -> list[str]:
    """What each target allows a request in CPU (server + Redis, us), were the run CPU-bound, beside
    what the server alone (its bare endpoint) takes of it and what the library's cells use."""
    c, lines = connections, []

    def cpu(server: str, variant: str) -> float | None:
        cell = runs.get((server, variant, c))
        return None if cell is None else total_cpu(cell)

    def line(goal: str, budget: float, server: str, used: str) -> None:
        bare, receiver, own = cpu(server, "bare"), cpu(server, "receiver"), cpu(server, used)
        if bare is None or own is None:
            return
        alone = "" if receiver is None else f", the receiver with no queue {receiver - bare:.0f}"
        lines.append(
            f"{goal}: budget {budget:.0f}; the server's bare endpoint {bare:.0f}; left for the library"
            f" {budget - bare:.0f}; {LABELS[used]} uses {own - bare:.0f}{alone}"
        )

    floor = cpu("floor", "durable")
    if floor is not None and "uvicorn-1" in servers:
        goal = f"uvicorn 1 worker + HueyQueue >= 50% of the durable floor ({floor:.0f})"
        line(goal, 2 * floor, "uvicorn-1", "hueyqueue")
    for server in servers:
        bare, roundtrip = cpu(server, "bare"), cpu(server, "roundtrip")
        if server.startswith("uvicorn") and bare is not None:
            line(f"{label(server)}, receiver + MemoryQueue >= 50% of bare", 2 * bare, server, "memory")
        if server.startswith(("gunicorn", "gthread")) and roundtrip is not None:
            goal = f"{label(server)}, HueyQueue >= 2x one huey enqueue ({roundtrip:.0f})"
            line(goal, roundtrip / 2, server, "hueyqueue")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--p99-connections", type=int, default=64, help="0: skip the p99 runs")
    parser.add_argument("--servers", default="uvicorn-1,uvicorn-2,gunicorn-sync,gthread-8")
    parser.add_argument("--variants", default="bare,memory,roundtrip,hueyqueue")
    parser.add_argument("--deliveries", type=int, default=0, help="distinct event ids (default 30,000 per second)")
    parser.add_argument("--appendonly", action="store_true", help="Redis with AOF (everysec) instead of none")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s runs (about 1.5 minutes)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 2
    servers = parse_servers(args.servers)
    variants = [v for v in args.variants.split(",") if v]
    if unknown := set(variants) - {"bare", "receiver", "memory", "roundtrip", "hueyqueue"}:
        sys.exit(f"unknown variants: {', '.join(sorted(unknown))}")
    check_tools(servers)

    cells: list[Cell] = [("floor", "bare", args.connections), ("floor", "durable", args.connections)]
    cells += [(server, variant, args.connections) for server in servers for variant in variants]
    if args.p99_connections and "uvicorn-1" in servers and "hueyqueue" in variants:
        cells += [("floor", "durable", args.p99_connections), ("uvicorn-1", "hueyqueue", args.p99_connections)]

    began = time.monotonic()
    persistence = "AOF, appendfsync everysec" if args.appendonly else "no persistence"
    with (
        tempfile.TemporaryDirectory(prefix="bench_http-") as tmp,
        redis_server(Path(tmp), appendonly=args.appendonly) as url,
    ):
        deliveries = Deliveries(Path(tmp), args.deliveries or int(30_000 * args.duration))
        warm = Deliveries(Path(tmp), 40_000)
        bench = Bench(url, Path(tmp), deliveries, warm, args.duration)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}")
        print(f"Redis: {persistence}, on the same cores; uvicorn --loop uvloop --http httptools")
        print(
            f"load: wrk -t1 -c{args.connections} -d{args.duration:g}s, {args.rounds} interleaved rounds; "
            f"body {deliveries.size} bytes, {deliveries.count:,} distinct event ids"
        )
        runs: Runs = {}
        for round_ in range(1, args.rounds + 1):
            for cell in cells if round_ % 2 else cells[::-1]:  # alternate, so drift hits every cell alike
                server, variant, connections = cell
                run = bench.measure(server, variant, connections)
                runs.setdefault(cell, []).append(run)
                name = f"{server} {variant} c{connections}"
                print(f"round {round_} {name:28} {cell_text(run)}", flush=True)
        wakeups, round_trip = thread_wakeups(), redis_round_trip(url)

    print(
        f"\nmedians over {args.rounds} round(s), wrk -t1 -c{args.connections} -d{args.duration:g}s, Redis {persistence}"
    )
    print("\n".join(table(runs, servers, variants, args.connections)))
    print("\nserver and Redis CPU per request (us, medians):")
    for (server, variant, connections), cell_runs in runs.items():
        print(
            f"  {server:14} {variant:10} c{connections:<3} server {median(cell_runs, 'cpu'):5.0f}"
            f"  Redis {median(cell_runs, 'redis_cpu'):4.0f}"
        )
    print("\ntargets (issue 15), ratios in this run:")
    print("\n".join(f"  {line}" for line in targets(runs, servers, variants, args.connections, args.p99_connections)))
    print(
        "\nCPU budgets (us a request, server + Redis, medians): what each target allows, were the run"
        " CPU-bound (req/s in inverse proportion to CPU a request)"
    )
    print("\n".join(f"  {line}" for line in budgets(runs, servers, variants, args.connections)))
    print(
        f"  this machine, measured after the cells: a thread hand-off round trip (two wake-ups) {wakeups:.0f} us"
        f" of CPU; a Redis PING round trip on a raw socket {round_trip:.0f} us"
    )
    print(f"\n{time.monotonic() - began:.0f} s in all")
    if bench.failures:
        print("LOST (answered 2xx, not found in Redis):\n  " + "\n  ".join(bench.failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
