"""The receiving core: every status, in the order layer-protocol.md §1-2 gives."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from support.clock import Clock
from support.payloads import SECRET, compact, fixture_names, load_fixture, recorded, signed

from layer_webhooks import (
    ConfigurationError,
    Hook,
    InvalidJobData,
    Job,
    MemoryQueue,
    MemoryStore,
    QueueError,
    Receiver,
    Request,
    Response,
)


class FlakyQueue(MemoryQueue):
    """A MemoryQueue whose enqueue raises while ``down`` is set (no async twin)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.down: BaseException | None = None

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        if self.down is not None:
            raise self.down
        super().enqueue(name, data, delay=delay, job_id=job_id)

    enqueue_async = None  # type: ignore[assignment]


def receiver_for(*hooks: Hook, queue: MemoryQueue | None = None, **options: Any) -> Receiver:
    return Receiver(SECRET, hooks or [Hook("Webhook Example", "/hook")], queue or MemoryQueue(), **options)


def jobs(receiver: Receiver) -> list[Any]:
    return receiver.queue.pending()  # type: ignore[attr-defined,no-any-return]


ALL_QUEUED = [n for n in fixture_names() if n != "message.sent.platform"]


@pytest.mark.parametrize("name", ALL_QUEUED)
def test_every_fixture_signed_is_accepted_and_queued_with_the_node_job_shape(name: str) -> None:
    payload = load_fixture(name)
    receiver = receiver_for()
    response = receiver.handle(signed(payload))
    assert response is not None and response.status == 200
    [job] = jobs(receiver)
    assert job.name == "Webhook Example"
    assert job.id == f"Webhook Example:{payload['event']['id']}"
    expected = {
        "title": "Webhook Example",
        "timestamp": payload["event"]["created_at"],
        "type": payload["event"]["type"],
        "event_id": payload["event"]["id"],
        "config": payload["config"],
    }
    for key in ("message", "conversation"):
        if key in payload:
            expected[key] = payload[key]
    assert job.data == expected
    json.dumps(job.data)  # JSON-safe


def test_accepted_delivery_waits_for_the_hook_delay_on_the_queue_clock() -> None:
    clock = Clock()
    queue = MemoryQueue(now=clock)
    receiver = receiver_for(Hook("Later", "/hook", delay="10 minutes"), queue=queue)
    assert receiver.handle(signed(load_fixture("message.sent"))).status == 200  # type: ignore[union-attr]
    ran: list[str] = []
    queue.process("Later", lambda job: ran.append(job.id))
    assert queue.run_due(clock.t + 599) == 0
    assert queue.run_due(clock.t + 600) == 1
    assert len(ran) == 1


def test_one_flipped_byte_is_403_and_nothing_queued() -> None:
    body = bytearray(compact(load_fixture("message.sent")))
    request = signed(bytes(body))
    body[40] ^= 0x01
    tampered = Request("POST", "/hook", "", request.headers, bytes(body))
    receiver = receiver_for()
    assert receiver.handle(tampered).status == 403  # type: ignore[union-attr]
    assert jobs(receiver) == []


def test_re_indented_payload_with_the_compact_signature_is_403() -> None:
    payload = load_fixture("message.sent")
    compact_request = signed(payload)
    pretty = json.dumps(payload, indent=2).encode()
    request = Request("POST", "/hook", "", compact_request.headers, pretty)
    receiver = receiver_for()
    assert receiver.handle(request).status == 403  # type: ignore[union-attr]
    assert jobs(receiver) == []


@pytest.mark.parametrize("signature", [None, "0" * 40, "not hex"])
def test_payload_without_config_and_without_a_valid_signature_is_403(signature: str | None) -> None:
    payload = load_fixture("message.sent")
    del payload["config"]
    request = signed(payload, signature=signature or "")
    if signature is None:
        request = Request("POST", "/hook", "", {"Content-Type": "application/json"}, compact(payload))
    receiver = receiver_for()
    assert receiver.handle(request).status == 403  # type: ignore[union-attr]
    assert jobs(receiver) == []


def test_wrong_secret_is_403() -> None:
    receiver = receiver_for()
    assert receiver.handle(signed(load_fixture("message.sent"), secret="other")).status == 403  # type: ignore[union-attr]


def test_any_of_several_secrets_is_accepted_while_rotating() -> None:
    receiver = Receiver(["old", "new"], [Hook("W", "/hook")], MemoryQueue())
    assert receiver.handle(signed(load_fixture("message.sent"), secret="old")).status == 200  # type: ignore[union-attr]
    assert receiver.handle(signed(load_fixture("message.read"), secret="new")).status == 200  # type: ignore[union-attr]


def test_oversized_body_is_413_before_the_signature_is_even_looked_at() -> None:
    receiver = receiver_for(max_body_bytes=100)
    body = b"{" + b" " * 200 + b"}"
    request = Request("POST", "/hook", "", {"Content-Type": "application/json"}, body)
    response = receiver.handle(request)
    assert response is not None and response.status == 413
    assert receiver.handle(signed(body, content_type="application/json")).status == 413  # type: ignore[union-attr]
    exact = b"{" + b" " * 98 + b"}"
    assert len(exact) == 100
    assert receiver.handle(signed(exact)).status == 400  # type: ignore[union-attr]  # at the limit: read on


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/vnd.layer.webhooks+json; version=1.0", 200),
        ("application/json", 200),
        ("application/json; charset=utf-8", 200),
        ("APPLICATION/JSON", 200),
        ("application/vnd.layer.webhooks+json; version=2.0", 200),
        ("application/x-custom+json", 200),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("+json", 415),
        ("", 415),
    ],
)
def test_content_type(content_type: str, status: int) -> None:
    receiver = receiver_for()
    assert receiver.handle(signed(load_fixture("message.sent"), content_type=content_type)).status == status  # type: ignore[union-attr]


def test_signature_is_checked_before_the_content_type() -> None:
    receiver = receiver_for()
    request = signed(load_fixture("message.sent"), content_type="text/plain", signature="0" * 40)
    assert receiver.handle(request).status == 403  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'"text"', b"{}", b'{"event": []}', b'{"event": {}}', b'{"event": {"type": 5}}',
     b'{"event": {"type": ""}}', b"\xff\xfe\x00", b"[" * 100_000, b'{"a": 1' ],
)  # fmt: skip
def test_not_an_object_with_event_type_is_400(body: bytes) -> None:
    receiver = receiver_for()
    response = receiver.handle(signed(body))
    assert response is not None and response.status == 400
    assert jobs(receiver) == []


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_python_only_json_constants_are_400_not_an_error_of_the_queue(constant: bytes) -> None:
    receiver = receiver_for()
    response = receiver.handle(signed(b'{"event": {"type": "message.sent", "id": "e"}, "message": [%s]}' % constant))
    assert response is not None and response.status == 400
    assert jobs(receiver) == []


def test_event_type_not_in_hook_events_is_200_and_not_queued() -> None:
    receiver = receiver_for(Hook("Sent only", "/hook", events=["message.sent"]))
    assert receiver.handle(signed(load_fixture("message.read"))).status == 200  # type: ignore[union-attr]
    assert jobs(receiver) == []
    assert receiver.handle(signed(load_fixture("message.sent"))).status == 200  # type: ignore[union-attr]
    assert len(jobs(receiver)) == 1


def test_older_event_names_match_their_1_0_names() -> None:
    payload = load_fixture("conversation.updated.participants")
    payload["event"]["type"] = "conversation.participants_updated"
    receiver = receiver_for(Hook("P", "/hook", events=["conversation.updated.participants"]))
    assert receiver.handle(signed(payload)).status == 200  # type: ignore[union-attr]
    [job] = jobs(receiver)
    assert job.data["type"] == "conversation.participants_updated"  # the payload's own value


def test_unknown_event_types_are_queued_for_hooks_without_a_filter() -> None:
    payload = load_fixture("message.sent")
    payload["event"]["type"] = "Message.reacted"
    receiver = receiver_for()
    assert receiver.handle(signed(payload)).status == 200  # type: ignore[union-attr]
    assert [j.data["type"] for j in jobs(receiver)] == ["Message.reacted"]


def test_bot_loop_guard_skips_service_senders_by_default() -> None:
    receiver = receiver_for()
    assert receiver.handle(signed(load_fixture("message.sent.platform"))).status == 200  # type: ignore[union-attr]
    assert jobs(receiver) == []
    both_keys = load_fixture("message.sent")
    both_keys["message"]["sender"] = {"user_id": None, "name": "t-bone"}
    assert receiver.handle(signed(both_keys)).status == 200  # type: ignore[union-attr]
    assert jobs(receiver) == []


def test_bot_loop_guard_can_be_switched_off() -> None:
    receiver = receiver_for(skip_service_senders=False)
    assert receiver.handle(signed(load_fixture("message.sent.platform"))).status == 200  # type: ignore[union-attr]
    [job] = jobs(receiver)
    assert job.data["message"]["sender"] == {"name": "t-bone"}


def test_the_same_event_twice_is_queued_once_per_hook() -> None:
    receiver = receiver_for(Hook("A", "/hook"), Hook("B", "/hook"))
    request = signed(load_fixture("message.sent"))
    assert receiver.handle(request).status == 200  # type: ignore[union-attr]
    assert receiver.handle(request).status == 200  # type: ignore[union-attr]
    assert sorted(j.name for j in jobs(receiver)) == ["A", "B"]


def test_dedupe_window_expires_on_the_store_clock() -> None:
    clock = Clock()
    queue = MemoryQueue(now=clock)
    ran: list[Job] = []
    queue.process("Webhook Example", ran.append)
    receiver = receiver_for(queue=queue, now=clock, dedupe_ttl=3600)
    request = signed(load_fixture("message.sent"))
    receiver.handle(request)
    clock.t += 3599
    receiver.handle(request)
    assert len(jobs(receiver)) == 1
    assert queue.run_due() == 1  # the job ran: only the claim keeps the next delivery out
    clock.t += 2
    receiver.handle(request)
    assert len(jobs(receiver)) == 1
    assert queue.run_due() == 1
    assert [job.id for job in ran] == [ran[0].id] * 2


def test_dedupe_falls_back_to_the_request_id_header() -> None:
    payload = load_fixture("message.sent")
    del payload["event"]["id"]
    request = signed(payload)
    with_id = Request("POST", "/hook", "", {**request.headers, "Layer-Webhook-Request-Id": "r-1"}, request.body)
    receiver = receiver_for()
    receiver.handle(with_id)
    receiver.handle(with_id)
    assert [j.id for j in jobs(receiver)] == ["Webhook Example:r-1"]


def test_dedupe_window_must_outlast_layers_retries() -> None:
    with pytest.raises(ConfigurationError, match="dedupe_ttl"):
        receiver_for(dedupe_ttl=600)


def test_overlapping_deliveries_of_one_event_are_queued_once() -> None:
    receiver = receiver_for()
    request = signed(load_fixture("message.sent"))
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def deliver() -> None:
        barrier.wait(timeout=10)
        statuses.append(receiver.handle(request).status)  # type: ignore[union-attr]

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert statuses == [200] * 8
    assert len(jobs(receiver)) == 1


def test_failing_enqueue_is_503_with_retry_after_and_the_retry_gets_through() -> None:
    queue = FlakyQueue()
    queue.down = QueueError("redis is down")
    receiver = receiver_for(queue=queue)
    request = signed(load_fixture("message.sent"))
    response = receiver.handle(request)
    assert response is not None and response.status == 503
    assert ("Retry-After", "10") in response.headers
    assert jobs(receiver) == []
    queue.down = None
    assert receiver.handle(request).status == 200  # type: ignore[union-attr]  # not marked seen by the failure
    assert len(jobs(receiver)) == 1


def test_any_exception_from_enqueue_is_503_not_500() -> None:
    queue = FlakyQueue()
    queue.down = ConnectionError("refused")
    assert receiver_for(queue=queue).handle(signed(load_fixture("message.sent"))).status == 503  # type: ignore[union-attr]


def test_one_failing_hook_does_not_lose_the_others_and_the_retry_completes_it() -> None:
    class FailsForB(MemoryQueue):
        fail = True

        def enqueue(self, name: str, data: Mapping[str, Any], **kw: Any) -> None:
            if name == "B" and self.fail:
                raise QueueError("B's queue is full")
            super().enqueue(name, data, **kw)

    queue = FailsForB()
    receiver = receiver_for(Hook("A", "/hook"), Hook("B", "/hook"), queue=queue)
    request = signed(load_fixture("message.sent"))
    assert receiver.handle(request).status == 503  # type: ignore[union-attr]
    assert [j.name for j in jobs(receiver)] == ["A"]
    queue.fail = False
    assert receiver.handle(request).status == 200  # type: ignore[union-attr]
    assert sorted(j.name for j in jobs(receiver)) == ["A", "B"]


def test_failing_store_is_503_and_nothing_queued() -> None:
    class DownStore(MemoryStore):
        def get(self, key: str) -> Any:
            raise ConnectionError("store down")

        def add_if_absent(self, key: str, value: Any, ttl: float) -> bool:
            raise ConnectionError("store down")

    receiver = receiver_for(store=DownStore())
    assert receiver.handle(signed(load_fixture("message.sent"))).status == 503  # type: ignore[union-attr]
    assert jobs(receiver) == []


def test_invalid_job_data_is_a_programming_error_not_a_503() -> None:
    queue = FlakyQueue()
    queue.down = InvalidJobData("not JSON-safe")
    receiver = receiver_for(queue=queue)
    request = signed(load_fixture("message.sent"))
    with pytest.raises(InvalidJobData):
        receiver.handle(request)
    queue.down = None
    assert receiver.handle(request).status == 200  # type: ignore[union-attr]  # the claim was released


def test_verification_challenge_is_echoed_as_plain_text() -> None:
    receiver = receiver_for()
    response = receiver.handle(Request("GET", "/hook", "verification_challenge=%3Cscript%3Ex&other=1"))
    assert response is not None and response.status == 200
    assert response.body == b"<script>x"
    headers = dict(response.headers)
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_get_without_challenge_is_200_ok() -> None:
    response = receiver_for().handle(Request("GET", "/hook"))
    assert response is not None and (response.status, response.body) == (200, b"OK")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"])
def test_other_methods_are_405_with_allow(method: str) -> None:
    response = receiver_for().handle(Request(method, "/hook"))
    assert response is not None and response.status == 405
    assert ("Allow", "GET, POST") in response.headers


def test_paths_that_are_not_hook_paths_are_passed_on() -> None:
    receiver = receiver_for(Hook("A", "hook"), Hook("B", "/other/"))
    assert receiver.owns("/hook") and receiver.owns("/hook/") and receiver.owns("/other")
    assert not receiver.owns("/hooks") and not receiver.owns("/") and not receiver.owns("/hook/x")
    assert receiver.handle(signed(load_fixture("message.sent"), path="/nothing")) is None


def test_several_hooks_on_one_path_each_filter_for_themselves() -> None:
    receiver = receiver_for(
        Hook("Sent", "/hook", events=["message.sent"]),
        Hook("Read", "/hook", events=["message.read"]),
        Hook("All", "/hook"),
        Hook("Elsewhere", "/other"),
    )
    receiver.handle(signed(load_fixture("message.sent")))
    receiver.handle(signed(load_fixture("message.read")))
    assert sorted((j.name, j.data["type"]) for j in jobs(receiver)) == [
        ("All", "message.read"),
        ("All", "message.sent"),
        ("Read", "message.read"),
        ("Sent", "message.sent"),
    ]


def test_recorded_v2_delivery_is_accepted() -> None:
    delivery = recorded("efb-v2-message")
    receiver = Receiver(delivery["secret"], [Hook("V2", "/hook")], MemoryQueue())
    request = Request("POST", "/hook", "", delivery["headers"], delivery["body"].encode())
    assert receiver.handle(request).status == 200  # type: ignore[union-attr]
    [job] = jobs(receiver)
    assert job.data["type"] == "Message.created"
    assert job.data["timestamp"] == "2017-09-29T20:34:48.042Z"


def test_rejections_are_logged_with_their_cause_and_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    receiver = receiver_for()
    request = signed(load_fixture("message.sent"), secret="other")
    with caplog.at_level(logging.DEBUG, logger="layer_webhooks"):
        receiver.handle(request)
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    text = record.getMessage()
    assert "403" in text and "does not match" in text
    assert SECRET not in caplog.text
    assert request.headers["layer-webhook-signature"] not in caplog.text
    assert "This is the message" not in caplog.text


def run_async(receiver: Receiver, request: Request) -> Response | None:
    return asyncio.run(receiver.handle_async(request))


def test_handle_async_behaves_as_handle_with_an_async_queue() -> None:
    receiver = receiver_for()
    assert run_async(receiver, signed(load_fixture("message.sent"))).status == 200  # type: ignore[union-attr]
    assert run_async(receiver, signed(load_fixture("message.sent"))).status == 200  # type: ignore[union-attr]
    assert run_async(receiver, signed(load_fixture("message.sent"), secret="x")).status == 403  # type: ignore[union-attr]
    assert run_async(receiver, Request("GET", "/hook", "verification_challenge=c")).body == b"c"  # type: ignore[union-attr]
    assert run_async(receiver, Request("GET", "/elsewhere")) is None
    assert len(jobs(receiver)) == 1


def test_handle_async_runs_a_sync_only_queue_off_the_event_loop() -> None:
    loop_threads: list[int] = []
    enqueue_threads: list[int] = []

    class SyncOnly(FlakyQueue):
        def enqueue(self, name: str, data: Mapping[str, Any], **kw: Any) -> None:
            enqueue_threads.append(threading.get_ident())
            super().enqueue(name, data, **kw)

    queue = SyncOnly()
    receiver = receiver_for(queue=queue)

    async def main() -> Response | None:
        loop_threads.append(threading.get_ident())
        return await receiver.handle_async(signed(load_fixture("message.sent")))

    assert asyncio.run(main()).status == 200  # type: ignore[union-attr]
    assert len(enqueue_threads) == 1 and enqueue_threads != loop_threads
    queue.down = QueueError("down")
    assert run_async(receiver, signed(load_fixture("message.read"))).status == 503  # type: ignore[union-attr]
