"""``layer-webhooks jobs``: the jobs of a queue, pending and dead, and an operator's replay and discard."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..jobs._lifecycle import LedgerQueue
from ._common import EXIT_FAILED, EXIT_OK, CommandError, load, short, show, show_json, table

NAME = "jobs"
QUEUE_HELP = "MODULE:OBJECT naming your queue (a HueyQueue, MemoryQueue...), or services or a receiver using it"


def add_to(commands: Any) -> None:
    """Add the command and its sub-commands to the ``layer-webhooks`` parser."""
    parser: argparse.ArgumentParser = commands.add_parser(
        NAME,
        help="see a queue's pending and dead jobs; replay or discard a dead one",
        description=(
            "The operator's surface of a queue named as MODULE:OBJECT (imported from the working "
            "directory, as huey_consumer does): pending jobs, dead letters with their last error, "
            "replay (run a dead job again from attempt 1) and discard. A HueyQueue on SQLite or "
            "Redis shows the jobs every process shares; it needs the huey extra (redis for Redis)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, words in (
        ("pending", "jobs waiting or running, soonest first"),
        ("dead", "dead letters with their last error, oldest first"),
    ):
        listing = actions.add_parser(action, help=words)
        listing.add_argument("queue", metavar="QUEUE", help=QUEUE_HELP)
        listing.add_argument("--json", action="store_true", help="print the jobs as JSON (without their data)")
        listing.set_defaults(run=run_list)
    for action, words in (
        ("replay", "queue a dead job again from attempt 1, under its id"),
        ("discard", "delete a dead job for good"),
    ):
        one = actions.add_parser(action, help=words)
        one.add_argument("queue", metavar="QUEUE", help=QUEUE_HELP)
        one.add_argument("id", metavar="ID", help="the job's id")
        one.add_argument("--json", action="store_true", help="print {id, done} as JSON")
        one.set_defaults(run=run_one)


def find_queue(spec: str) -> LedgerQueue:
    """The queue ``spec`` names: a queue, or the ``queue`` of a services object or a receiver."""
    found = load(spec)
    queue = found if isinstance(found, LedgerQueue) else getattr(found, "queue", None)
    if not isinstance(queue, LedgerQueue):
        raise CommandError(
            f"{spec!r} is a {type(found).__name__}: expected a queue with pending() and dead_letters() "
            "(HueyQueue, MemoryQueue), or WebhooksServices or a Receiver using one"
        )
    return queue


def when(seconds: float) -> str:
    """A queue time (seconds since the epoch) in UTC."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds)) if seconds else "-"


def run_list(args: argparse.Namespace) -> int:
    """Print the pending or dead jobs."""
    queue = find_queue(args.queue)
    if args.action == "pending":
        jobs = queue.pending()
        if args.json:
            show_json([{"id": j.id, "name": j.name, "attempt": j.attempt} for j in jobs])
        else:
            show(table(("ID", "NAME", "ATTEMPT"), [(j.id, j.name, j.attempt) for j in jobs]))
        return EXIT_OK
    dead = queue.dead_letters()
    if args.json:
        show_json(
            [
                {
                    "id": d.job.id,
                    "name": d.job.name,
                    "attempt": d.job.attempt,
                    "error": d.error,
                    "failed_at": d.failed_at,
                }
                for d in dead
            ]
        )
    else:
        rows = [(d.job.id, d.job.name, d.job.attempt, when(d.failed_at), short(d.error, 70)) for d in dead]
        show(table(("ID", "NAME", "ATTEMPT", "FAILED", "ERROR"), rows))
    return EXIT_OK


def run_one(args: argparse.Namespace) -> int:
    """Replay or discard one dead job; exit 1 when there is no such dead job."""
    queue = find_queue(args.queue)
    done = queue.replay(args.id) if args.action == "replay" else queue.discard(args.id)
    if args.json:
        show_json({"id": args.id, "action": args.action, "done": done})
    elif done and args.action == "replay":
        show(f"replayed {args.id}: it runs again from attempt 1")
    elif done:
        show(f"discarded {args.id}")
    else:
        pending = any(job.id == args.id for job in queue.pending())
        why = "a job with that id is pending" if pending else "no dead job has that id"
        show(f"not {args.action}ed: {why}")
    return EXIT_OK if done else EXIT_FAILED
