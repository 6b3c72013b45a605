"""The huey app the tests' consumers run: ``python -m huey.bin.huey_consumer huey_app.huey``.

Configured by the environment: ``LW_BACKEND`` (``redis`` or ``sqlite``), ``LW_TARGET`` (the
Redis URL or the SQLite file), ``LW_NAME`` (huey's name), ``LW_LEASE`` (seconds) and ``LW_NOTES`` (a file each consumer
appends one JSON line to per handler step, so that the test sees what ran where and when).

Every job name below runs :func:`work`, which follows the job's data: ``sleep`` seconds (only
in the run that creates the file ``sleep_once``, if given: a run killed or interrupted there
is not slept again), fail while ``attempt < fail_until``, fail unless the file ``need`` exists.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey

from layer_webhooks import Job
from layer_webhooks.adapters.huey import HueyQueue

#: Seconds before the second attempt (then twice that): huey's scheduler runs every second,
#: so that a third attempt due half a second after the second runs on its next tick.
BACKOFF = 0.25
#: (job name, attempts, backoff seconds) of the handlers the consumers run.
POLICIES = (("job", 3, BACKOFF), ("Webhook Example", 3, BACKOFF))


def build(backend: str, target: str, name: str, lease: float) -> tuple[Huey, HueyQueue]:
    """The huey instance and queue the tests and their consumers share."""
    huey: Huey
    if backend == "redis":
        import redis  # as docs/huey.md advises: a pool (the app's own), with timeouts

        huey = RedisHuey(name, connection_pool=redis.ConnectionPool.from_url(target, socket_timeout=5))
    else:
        huey = SqliteHuey(name, filename=target)
    return huey, HueyQueue(huey, lease=lease)


def note(path: str, step: str, job: Job | None = None, **extra: Any) -> None:
    """Append one line: the step, this process, the time, and the job's id, attempt and data."""
    line: dict[str, Any] = {"step": step, "pid": os.getpid(), "t": time.time(), **extra}
    if job is not None:
        line.update(id=job.id, attempt=job.attempt, name=job.name, data=job.data)
    with open(path, "a") as file:  # one short write per line: O_APPEND keeps lines whole
        file.write(json.dumps(line) + "\n")


def _create(path: str) -> bool:
    """Create the file ``path``; False when it exists already."""
    try:
        with open(path, "x"):
            return True
    except FileExistsError:
        return False


def serve(queue: HueyQueue, notes: str) -> None:
    """Register the test handlers on ``queue``, each writing its steps to ``notes``."""

    def work(job: Job) -> None:
        note(notes, "start", job)
        once = job.data.get("sleep_once")
        if once is None or _create(once):
            time.sleep(float(job.data.get("sleep", 0)))
        if job.attempt < int(job.data.get("fail_until", 0)):
            note(notes, "fail", job)
            raise RuntimeError(f"planned failure at attempt {job.attempt}")
        if "need" in job.data and not os.path.exists(job.data["need"]):
            note(notes, "fail", job)
            raise RuntimeError("the file this job needs is missing")
        note(notes, "end", job)

    for name, attempts, backoff in POLICIES:
        queue.process(name, work, attempts=attempts, backoff=backoff)

    def ready() -> None:
        note(notes, "ready", ppid=os.getppid())  # with -k process, a worker process is ready

    queue.huey.on_startup("test_ready")(ready)


if "LW_BACKEND" in os.environ:
    env = os.environ
    huey, queue = build(env["LW_BACKEND"], env["LW_TARGET"], env["LW_NAME"], float(env["LW_LEASE"]))
    serve(queue, os.environ["LW_NOTES"])
