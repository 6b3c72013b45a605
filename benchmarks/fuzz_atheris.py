"""Coverage-guided fuzzing of the receiving core with atheris (libFuzzer), outside the test suite.

Run (``pip install atheris``; it is not a test dependency, and this is not run in CI)::

    python benchmarks/fuzz_atheris.py -max_total_time=300 -rss_limit_mb=2048 /tmp/lw-corpus

Each input drives, from one byte string: ``verify_signature``, ``parse_event`` and
``Receiver.handle`` on a request whose method, path, headers and body come from the input
(its first byte chooses the shape: 0 is a signed JSON POST to the hook, so that the parser,
the filters and the queue are reached, not only the signature check), and each job queued
that way is run by its handler. A crash is any exception other than the library's refusals
(``InvalidSignature``, ``InvalidPayload``, ``ConfigurationError``), a 5xx answer, a body that
the receiver accepted and whose job the queue could not run, or a log line carrying the
body's text. libFuzzer prints its counts as it goes and at the end (``#<executions> DONE
cov: ... corp: <inputs>/<bytes>``); a crash stops the run and leaves ``crash-<sha1>`` beside.
The seeds are the fixtures of tests/fixtures, written into the corpus directory when it is empty.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

with atheris.instrument_imports():
    from layer_webhooks import (
        ConfigurationError,
        Hook,
        InvalidPayload,
        InvalidSignature,
        Job,
        MemoryQueue,
        Receiver,
        Request,
        parse_event,
        sign,
        verify_signature,
    )

SECRET = "fuzz secret"
QUEUE = MemoryQueue()
RECEIVER = Receiver(SECRET, [Hook("A", "/hook", ["message.sent"]), Hook("B", "/hook")], QUEUE, max_body_bytes=65536)
RAN: list[Job] = []
for name in ("A", "B"):
    QUEUE.process(name, RAN.append)
METHODS = ["POST", "GET", "PUT", "post", ""]
PATHS = ["/hook", "/hook/", "/other", ""]
CONTENT_TYPES = ["application/json", "application/vnd.layer.webhooks+json; version=1.0", "text/plain"]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


LOG = _Lines()
logging.getLogger("layer_webhooks").addHandler(LOG)
logging.getLogger("layer_webhooks").setLevel(logging.DEBUG)
logging.getLogger("layer_webhooks").propagate = False


def one_input(data: bytes) -> None:
    # Byte 0 chooses the request's shape (0: a signed JSON POST to the hook, as Layer sends);
    # with bit 2 set, bytes 1-8 are a request id header; the rest is the body.
    flags = data[0] if data else 0
    method = METHODS[(flags >> 5) % len(METHODS)]
    path = PATHS[(flags >> 3) & 3]
    signed, typed = not flags & 1, not flags & 2
    headers = [("layer-webhook-request-id", data[1:9].decode("latin-1"))] if flags & 4 else []
    body = data[9:] if flags & 4 else data[1:]
    query = body[:40].decode("utf-8", "replace") if method == "GET" else ""

    with contextlib.suppress(InvalidSignature, ConfigurationError):
        verify_signature(body, data[1:41].decode("latin-1"), SECRET)
    with contextlib.suppress(InvalidPayload):
        parse_event(body)

    if signed:
        headers.insert(0, ("layer-webhook-signature", sign(body, SECRET)))
    if typed:
        headers.insert(0, ("content-type", CONTENT_TYPES[len(body) % len(CONTENT_TYPES)]))
    LOG.lines.clear()
    RAN.clear()
    response = RECEIVER.handle(Request(method, path, query, headers, body))
    if response is not None and response.status >= 500:
        raise AssertionError(f"answered {response.status}")
    QUEUE.run_due()
    if QUEUE.dead_letters() or any(job.attempt > 1 for job in QUEUE.pending()):
        raise AssertionError("an accepted job failed in its handler")
    _check_logs(body)


def _check_logs(body: bytes) -> None:
    # A message's text (its parts' bodies) and the body itself never reach a log line; the
    # event's id and type, the path and the headers' values are identifiers, logged cut and quoted.
    secrets = [body.decode("utf-8", "replace")] if len(body) >= 16 else []
    with contextlib.suppress(ValueError, RecursionError, AttributeError, TypeError, KeyError):
        parts = json.loads(body)["message"]["parts"]
        secrets += [part["body"] for part in parts if isinstance(part.get("body"), str) and len(part["body"]) >= 8]
    for line in LOG.lines:
        for secret in secrets:
            if secret in line:
                raise AssertionError(f"a log line carries the body's text: {line[:200]!r}")


def _seed(corpus: Path) -> None:
    if corpus.is_dir() and not any(corpus.iterdir()):
        for path in sorted((HERE.parent / "tests" / "fixtures").glob("*.json")):
            payload = json.loads(path.read_text())
            body = json.dumps(payload, separators=(",", ":")).encode()
            (corpus / path.stem).write_bytes(b"\x00" + body)


def main() -> None:
    for arg in sys.argv[1:]:
        if not arg.startswith("-"):
            Path(arg).mkdir(parents=True, exist_ok=True)
            _seed(Path(arg))
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
