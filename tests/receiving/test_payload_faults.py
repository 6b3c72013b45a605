"""Every valid JSON payload is processed or refused with a 4xx, never a 5xx (nor a 500) forever.

Numbers a float cannot hold are refused at parse, wherever they are; lone surrogates are
queued and handed over as they came; a body shorter than its Content-Length is refused; and
no log line carries the message's text.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from support.payloads import SECRET, compact, load_fixture, signed

from layer_webhooks import Hook, InvalidPayload, Job, MemoryQueue, Receiver, Request, sign
from layer_webhooks.receiving._payload import load_payload

TEXT = load_fixture("message.sent")["message"]["parts"][0]["body"]


def receiver_for(queue: MemoryQueue) -> Receiver:
    return Receiver(SECRET, [Hook("Webhook Example", "/hook")], queue)


def with_number(place: str, literal: str) -> bytes:
    """message.sent, compact, with ``literal`` (raw JSON text) at ``place``."""
    payload = load_fixture("message.sent")
    marker = "__number__"
    if place == "message":
        payload["message"]["parts"][0]["size"] = marker
    elif place == "config":
        payload["config"]["weight"] = marker
    elif place == "created_at":
        payload["event"]["created_at"] = marker
    else:
        payload["score"] = marker
    return compact(payload).replace(b'"__number__"', literal.encode())


NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E+309", "123456789e999"]
PLACES = ["message", "config", "created_at", "top level"]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("literal", NUMBERS)
def test_numbers_no_float_holds_are_400_wherever_they_are(place: str, literal: str) -> None:
    queue = MemoryQueue()
    response = receiver_for(queue).handle(signed(with_number(place, literal)))
    assert response is not None and response.status == 400
    assert response.body == b"body is not valid JSON"
    assert queue.pending() == []


@pytest.mark.parametrize("literal", ["1e-400", "1e308", "-0.0", "12345678901234567890123", "0.1"])
def test_numbers_a_float_or_an_int_holds_are_queued(literal: str) -> None:
    queue = MemoryQueue()
    assert receiver_for(queue).handle(signed(with_number("message", literal))).status == 200  # type: ignore[union-attr]
    [job] = queue.pending()
    assert job.data["message"]["parts"][0]["size"] == json.loads(literal)


def test_load_payload_refuses_out_of_range_numbers() -> None:
    with pytest.raises(InvalidPayload):
        load_payload(b'{"event": {"type": "x"}, "n": 1e400}')
    assert load_payload(b'{"n": 1e-400}') == {"n": 0.0}


# -- lone surrogates --------------------------------------------------------------------------

CUT = "cut emoji \ud83d"  # the first half of U+1F600


def cut_payload() -> dict[str, Any]:
    payload = load_fixture("message.sent")
    payload["message"]["parts"][0]["body"] = CUT
    payload["config"]["name\udc00"] = "\udfff"
    return payload


def escaped_body() -> bytes:
    """The payload with the surrogates as JSON escapes (what json.dumps writes)."""
    return json.dumps(cut_payload(), separators=(",", ":")).encode("ascii")


def raw_body() -> bytes:
    """The payload with the surrogates as raw (invalid UTF-8) bytes."""
    return json.dumps(cut_payload(), separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("body", [escaped_body, raw_body], ids=["escaped", "raw bytes"])
def test_lone_surrogates_are_queued_and_handed_over_as_they_came(body: Any) -> None:
    queue = MemoryQueue()
    ran: list[Job] = []
    queue.process("Webhook Example", ran.append)
    assert receiver_for(queue).handle(signed(body())).status == 200  # type: ignore[union-attr]
    assert queue.run_due() == 1
    assert ran[0].data["message"] == cut_payload()["message"]
    assert ran[0].data["config"] == cut_payload()["config"]


def test_a_lone_surrogate_in_the_event_id_makes_an_escaped_job_id_and_keeps_the_id_in_the_data() -> None:
    payload = load_fixture("message.sent")
    payload["event"]["id"] = "event \ud83d"
    queue = MemoryQueue()
    receiver = receiver_for(queue)
    request = signed(json.dumps(payload).encode())
    assert receiver.handle(request).status == 200  # type: ignore[union-attr]
    assert receiver.handle(request).status == 200  # type: ignore[union-attr]  # a duplicate
    [job] = queue.pending()
    assert job.id == "Webhook Example:event \\ud83d"
    assert job.data["event_id"] == "event \ud83d"


def test_a_job_id_with_a_lone_surrogate_is_invalid_job_data_on_every_queue() -> None:
    from layer_webhooks import InvalidJobData

    with pytest.raises(InvalidJobData, match="job_id"):
        MemoryQueue().enqueue("job", {}, job_id="id \ud83d")


# -- a body cut short -------------------------------------------------------------------------


def with_length(request: Request, length: str) -> Request:
    return Request(request.method, request.path, "", {**request.headers, "Content-Length": length}, request.body)


def test_a_body_shorter_than_its_content_length_is_400_though_its_signature_matches() -> None:
    body = compact(load_fixture("message.sent"))[:-40]
    request = Request(
        "POST",
        "/hook",
        "",
        {"Content-Type": "application/json", "Layer-Webhook-Signature": sign(body, SECRET)},
        body,
    )
    queue = MemoryQueue()
    response = receiver_for(queue).handle(with_length(request, str(len(body) + 40)))
    assert response is not None and response.status == 400
    assert b"shorter than its Content-Length" in response.body
    assert queue.pending() == []


@pytest.mark.parametrize("length", ["exact", "", "abc", "\u0661\u0662", "9" * 40])
def test_a_body_of_its_content_length_or_an_unreadable_one_is_judged_on_its_bytes(length: str) -> None:
    request = signed(load_fixture("message.sent"))
    value = str(len(request.body)) if length == "exact" else length
    assert receiver_for(MemoryQueue()).handle(with_length(request, value)).status == 200  # type: ignore[union-attr]


# -- logs -------------------------------------------------------------------------------------


def test_no_log_line_carries_the_message_text_whatever_fails(caplog: pytest.LogCaptureFixture) -> None:
    class Down(MemoryQueue):
        def enqueue(self, name: str, data: Any, *, delay: float = 0.0, job_id: str | None = None) -> None:
            text = data["message"]["parts"][0]["body"]
            raise UnicodeEncodeError("utf-8", text, 0, 1, "surrogates not allowed")

    def handler(job: Job) -> None:
        raise KeyError(job.data["message"]["parts"][0]["body"])

    queue = MemoryQueue(now=lambda: 0.0)
    queue.process("Webhook Example", handler)
    with caplog.at_level(logging.DEBUG, logger="layer_webhooks"):
        receiver_for(Down()).handle(signed(load_fixture("message.sent")))
        receiver_for(queue).handle(signed(load_fixture("message.sent")))
        for attempt in range(1, 11):
            assert queue.run_due(at=1e6 * attempt) == 1
        receiver_for(queue).handle(signed(with_number("message", "1e400")))
    assert TEXT not in caplog.text
    assert "KeyError at " in caplog.text  # what failed, and where
    assert [dead.error for dead in queue.dead_letters()] == [repr(KeyError(TEXT))]  # the operator sees it all
