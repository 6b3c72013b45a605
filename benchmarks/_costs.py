"""What this machine charges for the two waits a durable answer is made of, measured in the run that
quotes them: a thread woken by another (a group commit's follower, woken when its batch is written)
and one Redis round trip (a request that writes its own job). ``bench_http`` prints both beside
the budgets its targets leave: on a machine where a wake-up costs as much CPU as a round trip, a
thread that waits for a shared write saves Redis's work but not its own wake-up.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from urllib.parse import urlsplit


def thread_wakeups(rounds: int = 3, count: int = 5_000) -> float:
    """CPU (us, this process) of one thread hand-off round trip: each of two threads releases a
    lock the other blocks on, so each round trip is two wake-ups. The median of ``rounds``."""
    return statistics.median(_hand_offs(count) for _ in range(rounds))


def _hand_offs(count: int) -> float:
    ping, pong = threading.Lock(), threading.Lock()
    ping.acquire()
    pong.acquire()

    def answer() -> None:
        for _ in range(count):
            ping.acquire()
            pong.release()

    other = threading.Thread(target=answer, name="wake-ups", daemon=True)
    other.start()
    began = time.process_time()
    for _ in range(count):
        ping.release()
        pong.acquire()
    spent = time.process_time() - began
    other.join(10)
    return spent / count * 1e6


def redis_round_trip(url: str, rounds: int = 3, count: int = 5_000) -> float:
    """CPU (us, this process) of one ``PING`` answered by the Redis at ``url``, on a raw socket
    (no client library): the least a request that waits for its own write pays. Median of ``rounds``."""
    parts = urlsplit(url)
    figures = []
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(rounds):
            began = time.process_time()
            for _ in range(count):
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
                while not reply.endswith(b"\r\n") and len(reply) < 64:  # a reply cut in two
                    reply += sock.recv(64)
                if reply != b"+PONG\r\n":
                    raise RuntimeError(f"Redis answered PING with {reply[:20]!r}")
            figures.append((time.process_time() - began) / count * 1e6)
    return statistics.median(figures)
