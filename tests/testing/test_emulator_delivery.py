"""LayerEmulator: the verification handshake, signed deliveries, retries and deactivation."""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("werkzeug")

from support.emulator import emulator_fixture, running_emulator
from support.redis_server import free_port
from support.target import Target

from layer_webhooks import verify_signature
from layer_webhooks._layer import DELIVERY_RETRY_SCHEDULE as RETRY_SCHEDULE
from layer_webhooks.testing import LayerEmulator, make_event

SCALE = 0.0005  # the whole schedule (1660 s) in 0.83 s
pytestmark = pytest.mark.slow


layer = emulator_fixture(retry_scale=SCALE)


def active(layer: LayerEmulator, target: Target, events: list[str] | None = None, **options: object) -> str:
    """Create a webhook on ``target``, wait for it to be active, return its id."""
    webhook = layer.create_webhook(target.url, events or ["message.sent"], "s3cret", **options)  # type: ignore[arg-type]
    layer.wait_idle()
    assert layer.get_webhook(webhook["id"])["status"] == "active"
    return str(webhook["id"])


# -- verification -------------------------------------------------------------------------


def test_a_target_that_echoes_the_challenge_becomes_active(layer: LayerEmulator) -> None:
    with Target() as target:
        webhook = layer.create_webhook(target.url + "?team=a", ["message.sent"], "s")
        layer.wait_idle()
        assert layer.get_webhook(webhook["id"])["status"] == "active"
        assert "status_reason" not in layer.get_webhook(webhook["id"])
        layer.activate_webhook(webhook["id"])
        layer.wait_idle()
        first, second = target.gets()
    assert first.args["team"] == "a"  # the target's own query is kept
    assert len(first.args["verification_challenge"]) >= 20
    assert first.args["verification_challenge"] != second.args["verification_challenge"]
    assert "layer-webhooks" in first.headers["User-Agent"]


@pytest.mark.parametrize(
    ("target_options", "reason"),
    [
        ({"echo": False}, "the body was not the challenge"),
        ({"delay": 1.3}, "no answer within 1 s"),
    ],
)
def test_a_target_that_does_not_echo_becomes_inactive(
    layer: LayerEmulator, target_options: dict[str, object], reason: str
) -> None:
    with Target(**target_options) as target:  # type: ignore[arg-type]
        webhook = layer.create_webhook(target.url, ["message.sent"], "s")
        layer.wait_idle()
        found = layer.get_webhook(webhook["id"])
        assert target.gets()  # it was asked
    assert found["status"] == "inactive"
    assert reason in found["status_reason"]


def test_a_target_answering_404_becomes_inactive(layer: LayerEmulator) -> None:
    with Target(get_status=404) as target:
        webhook = layer.create_webhook(target.url, ["message.sent"], "s")
        layer.wait_idle()
    found = layer.get_webhook(webhook["id"])
    assert found["status"] == "inactive"
    assert found["status_reason"] == "verification failed: the target answered 404, not 200"


def test_a_target_that_is_down_becomes_inactive(layer: LayerEmulator) -> None:
    webhook = layer.create_webhook(f"http://127.0.0.1:{free_port()}/hook", ["message.sent"], "s")
    layer.wait_idle()
    found = layer.get_webhook(webhook["id"])
    assert found["status"] == "inactive"
    assert found["status_reason"].startswith("verification failed: could not connect")


def test_unverified_and_inactive_webhooks_get_no_delivery(layer: LayerEmulator) -> None:
    with Target(echo=False) as target:
        layer.create_webhook(target.url, ["message.sent"], "s")
        layer.wait_idle()
        assert layer.publish(make_event("message.sent")) == []
        assert target.posts() == []


# -- deliveries ---------------------------------------------------------------------------


def test_deliveries_are_signed_over_the_exact_bytes_sent(layer: LayerEmulator) -> None:
    with Target() as target:
        webhook_id = active(layer, target, ["message.sent", "message.read"], config={"name": "Webhook Example"})
        payload = make_event("message.sent", text="héllo ✓", config={"name": "something else"})
        (delivery,) = layer.publish(payload)
        layer.publish(make_event("message.read"))
        layer.publish(make_event("message.delivered"))  # not subscribed
        first, second = target.posts()
    assert delivery.delivered
    assert delivery.webhook_id == webhook_id
    assert first.body == delivery.body
    for received in (first, second):
        verify_signature(received.body, received.headers["Layer-Webhook-Signature"], "s3cret")
    sent = json.loads(first.body)
    assert sent["config"] == {"name": "Webhook Example"}  # the registered config replaces the payload's
    assert {k: v for k, v in sent.items() if k != "config"} == {k: v for k, v in payload.items() if k != "config"}
    assert first.body == json.dumps(sent, separators=(",", ":"), ensure_ascii=False).encode()
    assert first.headers["Content-Type"] == "application/vnd.layer.webhooks+json; version=1.0"
    assert "layer-webhooks" in first.headers["User-Agent"]
    assert first.headers["Layer-Webhook-Event-Type"] == "message.sent"
    assert first.headers["Layer-Webhook-Id"] == webhook_id
    assert first.headers["Layer-Webhook-Request-Id"] == delivery.request_id == payload["event"]["id"]
    assert json.loads(second.body)["event"]["type"] == "message.read"


def test_no_config_registered_means_no_config_sent(layer: LayerEmulator) -> None:
    with Target() as target:
        active(layer, target)
        layer.publish(make_event("message.sent", config={"name": "from the payload"}))
        (received,) = target.posts()
    assert "config" not in json.loads(received.body)


def test_each_subscribed_webhook_gets_its_own_signature(layer: LayerEmulator) -> None:
    with Target() as one, Target() as two:
        active(layer, one)
        layer.create_webhook(two.url, ["message.sent"], "other secret")
        layer.wait_idle()
        deliveries = layer.publish(make_event("message.sent"))
        (a,), (b,) = one.posts(), two.posts()
    assert len(deliveries) == 2
    verify_signature(a.body, a.headers["Layer-Webhook-Signature"], "s3cret")
    verify_signature(b.body, b.headers["Layer-Webhook-Signature"], "other secret")


def test_v2_webhooks_get_the_v2_content_type(layer: LayerEmulator) -> None:
    with Target() as target:
        layer.create_webhook(target.url, ["Message.created"], "s", version="2.0")
        layer.wait_idle()
        layer.publish(make_event("Message.created"))
        (received,) = target.posts()
    assert received.headers["Content-Type"] == "application/vnd.layer.webhooks+json; version=2.0"


def test_publish_refuses_a_payload_without_a_type(layer: LayerEmulator) -> None:
    with pytest.raises(ValueError, match=r"event\.type"):
        layer.publish({"event": {}})


# -- retries ------------------------------------------------------------------------------


def test_failures_are_retried_on_layers_schedule_with_the_same_request(layer: LayerEmulator) -> None:
    with Target(statuses=[503, 500, 404]) as target:
        active(layer, target)
        (first,) = layer.publish(make_event("message.sent"))
        assert first.state == "pending"
        assert [a.status for a in first.attempts] == [503]
        layer.wait_idle()
        posts = target.posts()
    (delivery,) = layer.deliveries
    assert delivery.state == "delivered"
    assert [a.status for a in delivery.attempts] == [503, 500, 404, 200]
    assert [a.number for a in delivery.attempts] == [1, 2, 3, 4]
    assert [a.ok for a in delivery.attempts] == [False, False, False, True]
    assert delivery.attempts[0].error == "answered 503"
    assert all(a.latency >= 0 for a in delivery.attempts)
    for before, after, wait in zip(delivery.attempts, delivery.attempts[1:], RETRY_SCHEDULE, strict=False):
        assert after.at - before.at >= wait * SCALE * 0.9
    assert len({p.body for p in posts}) == 1
    assert len({p.headers["Layer-Webhook-Request-Id"] for p in posts}) == 1
    assert len({p.headers["Layer-Webhook-Signature"] for p in posts}) == 1


def test_after_the_last_retry_the_webhook_becomes_inactive(layer: LayerEmulator) -> None:
    with Target(statuses=[500] * 10) as target:
        webhook_id = active(layer, target)
        layer.publish(make_event("message.sent"))
        layer.wait_idle()
        assert len(target.posts()) == 1 + len(RETRY_SCHEDULE)
        webhook = layer.get_webhook(webhook_id)
        assert webhook["status"] == "inactive"
        assert "6 attempts" in webhook["status_reason"]
        assert layer.publish(make_event("message.sent")) == []
        assert len(target.posts()) == 6
    (delivery,) = layer.deliveries
    assert delivery.state == "failed"
    assert len(delivery.attempts) == 6


def test_a_slow_answer_is_a_failure(layer: LayerEmulator) -> None:
    with Target() as target:
        active(layer, target)
        target.delay = 1.3
        (delivery,) = layer.publish(make_event("message.sent"))
        target.delay = 0.0
        layer.wait_idle(timeout=10)
    (attempt,) = delivery.attempts
    assert attempt.status is None
    assert attempt.error == "no answer within 1 s"
    assert attempt.latency >= 1.0
    assert layer.deliveries[0].delivered
    assert len(layer.deliveries[0].attempts) == 2


def test_retries_for_a_deleted_webhook_are_abandoned() -> None:
    with running_emulator(retry_scale=0.05) as layer, Target(statuses=[503]) as target:
        webhook_id = active(layer, target)
        layer.publish(make_event("message.sent"))
        layer.delete_webhook(webhook_id)  # the retry is 0.5 s away
        layer.wait_idle()
        assert len(target.posts()) == 1
    (delivery,) = layer.deliveries
    assert delivery.state == "abandoned"


def test_wait_idle_and_wait_for_are_bounded() -> None:
    with running_emulator(retry_scale=1.0) as slow, Target(statuses=[503]) as target:
        slow.create_webhook(target.url, ["message.sent"], "s")
        slow.wait_idle()
        slow.publish(make_event("message.sent"))
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="busy"):
            slow.wait_idle(timeout=0.1)
        with pytest.raises(TimeoutError, match="not met"):
            slow.wait_for(lambda: slow.deliveries[0].delivered, timeout=0.1)
        assert time.monotonic() - started < 2
        assert slow.wait_for(lambda: len(target.posts())) == 1
