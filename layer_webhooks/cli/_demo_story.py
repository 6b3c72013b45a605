"""The demo's narration: who says what, each HTTP exchange, each job run, and the summary."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..jobs._job import Handler, Job
from ..jobs._lifecycle import LedgerQueue
from ..jobs._registry import Registration, Registry
from ._common import show

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: The people of the conversation, by user id.
NAMES = {"alice": "Alice", "bob": "Bob", "carol": "Carol"}

READ_NEXT = (
    ("README.md", "the Use section: the same in your own web framework"),
    ("docs/receiving.md", "hooks, what each delivery gets, the job's data, de-duplication"),
    ("docs/receipts.md", "unread and undelivered reports"),
    ("docs/huey.md", "the production queue (Redis), consumers, at-least-once jobs"),
    ("docs/cli.md", "every command: serve, worker, send, verify, webhooks, jobs, emulator, dashboard"),
)


def text_of(message: Mapping[str, Any]) -> str:
    """The first text part of a message."""
    return next((str(p.get("body")) for p in message.get("parts") or () if p.get("body") is not None), "")


def names(users: Iterable[str], identities: Mapping[str, Any] | None = None) -> str:
    """``users`` by their display names, joined as a person would."""
    found = identities or {}
    words = [((found.get(u) or {}).get("display_name") or NAMES.get(u, u)) for u in users]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class Narrator:
    """Prints numbered steps and timed lines, one at a time from any thread."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.steps = 0

    def step(self, title: str) -> None:
        """A new numbered step."""
        with self.lock:
            self.steps += 1
            show(f"\n{self.steps}. {title}")

    def say(self, text: str) -> None:
        """One line, with the seconds since the demo began."""
        with self.lock:
            show(f"  [{time.monotonic() - self.started:5.1f} s] {text}")


class Watch:
    """WSGI middleware that narrates each request Layer makes to the service, and counts answers."""

    def __init__(self, app: WSGIApplication, say: Callable[[str], None]) -> None:
        self.app, self.say = app, say
        self.answers: Counter[str] = Counter()
        self.challenges = 0

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request, then say what Layer asked and what the service answered."""
        status: list[str] = []

        def capture(line: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(line)
            return start_response(line, headers, exc_info)

        body = b"".join(self.app(environ, capture))
        path, answer = environ.get("PATH_INFO", ""), status[0] if status else "?"
        self.answers[answer] += 1
        if "verification_challenge=" in environ.get("QUERY_STRING", ""):
            self.challenges += 1
            echoed = "the body is the challenge" if answer.startswith("200") else f"body {body[:40]!r}"
            self.say(f"Layer -> GET {path}?verification_challenge=...: answered {answer}, {echoed}")
        else:
            event = environ.get("HTTP_LAYER_WEBHOOK_EVENT_TYPE", "?")
            self.say(f"Layer -> POST {path} {event} (signed): answered {answer}")
        return [body]


class Jobs:
    """Wraps every handler of a queue so that each run is told and counted."""

    def __init__(self, narrator: Narrator, delay: float) -> None:
        self.say, self.delay = narrator.say, delay
        self.runs: Counter[str] = Counter()
        self.texts: dict[str, str] = {}  # message id -> text, for the checks that carry only the id
        self.listened: set[str] = set()  # ids of the messages the listen job saw
        self.reports: list[tuple[list[str], str]] = []
        self.reported = threading.Event()
        self.lock = threading.Lock()

    def watch(self, queue: LedgerQueue) -> None:
        """Run each of ``queue``'s handlers inside :meth:`told`; before any is registered."""
        queue.handlers = _ToldRegistry(self.told)

    def told(self, handler: Handler) -> Handler:
        """``handler``, telling each run once it has succeeded."""

        def run(job: Job) -> object:
            result = handler(job)
            with self.lock:
                self.runs[job.name] += 1
            self.say(f"job {job.name!r} ran: {self.describe(job)}")
            return result

        return run

    def describe(self, job: Job) -> str:
        """What a job did, in words."""
        data = job.data
        message: Mapping[str, Any] = data.get("message") or {}
        if "id" in message:
            self.texts.setdefault(str(message["id"]), text_of(message))
        if job.name.startswith("receipts:event:"):
            who = NAMES.get(str(data.get("actor")), "someone")
            if data.get("kind") == "deleted":
                return f"forgot {text_of(message)!r}, deleted: it will not be reported"
            if data.get("kind") == "status":
                return f"noted {data.get('type')} of {text_of(message)!r} by {who}"
            return f"tracking {text_of(message)!r}; its check runs in {self.delay:g} s"
        if job.name.startswith("receipts:check:"):
            text = self.texts.get(str(data.get("message_id")), "a message")
            return f"{self.delay:g} s after {text!r}: who has not read it?"
        if "recipients" in data:
            recipients = list(data["recipients"])
            with self.lock:
                self.reports.append((recipients, text_of(message)))
            self.reported.set()
            return (
                f"{names(recipients, data.get('identities'))} has not read {text_of(message)!r} after {self.delay:g} s"
            )
        self.listened.add(str(message.get("id")))
        return f"{NAMES.get(message.get('sender', {}).get('user_id'), '?')} wrote {text_of(message)!r}"


class _ToldRegistry(Registry):
    """A registry whose handlers are found wrapped (the queue looks each job's up as it runs)."""

    def __init__(self, wrap: Callable[[Handler], Handler]) -> None:
        super().__init__()
        self._wrap = wrap

    def get(self, name: str) -> Registration | None:
        """The registration of ``name``, its handler wrapped."""
        found = super().get(name)
        return None if found is None else Registration(self._wrap(found.handler), found.policy)


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` every 0.1 s until true (True) or ``timeout`` seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def summary(
    say: Callable[[str], None], watch: Watch, jobs: Jobs, deliveries: list[Any], skipped: list[str], deleted: list[str]
) -> None:
    """The counts, in words."""
    attempts = sum(len(d.attempts) for d in deliveries)
    answered = ", ".join(f"{n} x {status}" for status, n in sorted(watch.answers.items()))
    say(f"Layer sent {watch.challenges} challenges and {len(deliveries)} deliveries ({attempts} attempts)")
    say(f"the service answered: {answered}")
    say(f"jobs run: {sum(jobs.runs.values())} ({', '.join(f'{name} {n}' for name, n in sorted(jobs.runs.items()))})")
    say(f"skipped by the guard against bot loops: {len(skipped)} ({', '.join(map(repr, skipped)) or 'none'})")
    say(f"deleted before their check, not reported: {len(deleted)} ({', '.join(map(repr, deleted))})")
    say(f"receipts reports: {len(jobs.reports)}")


def read_next() -> None:
    """Where to go from here."""
    show("\nRead next:")
    for path, what in READ_NEXT:
        show(f"  {path:<18} {what}")
