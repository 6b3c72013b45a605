"""Configuration checked where it is written: each mistake that used to be silent raises an
error naming the field, the value (or its type) and the fix, or logs a WARNING where the
value may be right (docs/when-nothing-happens.md)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from support.clock import Clock

from layer_webhooks import (
    ConfigurationError,
    ConfigurationTypeError,
    Hook,
    InvalidHook,
    Job,
    LayerClient,
    MemoryQueue,
    MemoryStore,
    Receiver,
    WebhooksServices,
    verify_signature,
)
from layer_webhooks._layer import EVENT_TYPES
from layer_webhooks.registration._apply import register_webhooks

HOOK = Hook("Webhook Example", "/new-message", ["message.sent"])

# -- event names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "meant"),
    [("message.snt", "message.sent"), ("Message.Sent", "message.sent"), ("message.sent ", "message.sent"),
     ("conversation.update.metadata", "conversation.updated.metadata"), ("Message.create", "Message.created"),
     ("receipt.created", "Receipt.created")],
)  # fmt: skip
def test_an_event_name_layer_does_not_know_is_refused_with_a_suggestion(given: str, meant: str) -> None:
    with pytest.raises(InvalidHook, match="did you mean") as info:
        Hook("x", "/x", [given])
    assert info.value.field == "events"
    assert repr(given) in str(info.value)
    assert f"did you mean {meant!r}?" in str(info.value)


def test_a_name_far_from_any_lists_the_known_ones() -> None:
    with pytest.raises(InvalidHook) as info:
        Hook.from_dict({"name": "x", "path": "/x", "events": ["zzz"]})
    assert info.value.field == "events"
    assert "message.sent" in str(info.value)
    assert "conversation.deleted" in str(info.value)


def test_every_version_s_event_names_are_accepted() -> None:
    for version, names in EVENT_TYPES.items():
        assert Hook(f"v{version}", "/v", names).events == names


# -- paths and the hooks argument -----------------------------------------------------------


@pytest.mark.parametrize("path", ["https://example.com/x", "http://localhost:8000/hook"])
def test_a_url_is_not_a_path(path: str) -> None:
    with pytest.raises(InvalidHook, match="not a URL") as info:
        Hook("x", path)
    assert info.value.field == "path"
    assert "register()" in str(info.value)


@pytest.mark.parametrize("path", ["", "/", "//"])
def test_an_empty_path_would_take_over_the_root(path: str) -> None:
    with pytest.raises(InvalidHook, match="root of the app") as info:
        Hook("x", path)
    assert info.value.field == "path"


def test_hooks_must_be_a_list_of_hooks() -> None:
    services = WebhooksServices(run_jobs=False)
    with pytest.raises(ConfigurationTypeError, match=r"^hooks: expected a list of Hook\(.*got str$") as info:
        services.listen("s", "not hooks")  # type: ignore[arg-type]
    assert info.value.field == "hooks"
    assert isinstance(info.value, TypeError)
    with pytest.raises(ConfigurationTypeError, match=r"^hooks\[1\]: expected a Hook.*got list$"):
        services.listen("s", [HOOK, ["Webhook Example", "/x"]])  # type: ignore[list-item]
    with pytest.raises(ConfigurationTypeError, match="got int"):
        services.listen("s", 5)  # type: ignore[arg-type]


# -- secrets ---------------------------------------------------------------------------------


def test_a_missing_secret_says_so_instead_of_a_type_error() -> None:
    services = WebhooksServices(run_jobs=False)
    with pytest.raises(ConfigurationError) as info:
        services.listen(None, [HOOK])  # type: ignore[arg-type]  # os.environ.get(...) of an unset variable
    assert str(info.value).startswith("secret: expected the webhook's secret (a string), got None")
    assert "environment variable" in str(info.value)


@pytest.mark.parametrize(
    ("secret", "field", "says"),
    [
        (b"bytes secret", "secret", "got bytes; decode it first"),
        (12345, "secret", "got int"),
        (["old secret", None], "secret[1]", "got None"),
        (["old secret", b"new"], "secret[1]", "got bytes"),
        ({"a": "b"}, "secret", "got dict"),
    ],
)
def test_a_secret_that_is_not_a_string_is_refused(secret: Any, field: str, says: str) -> None:
    with pytest.raises(ConfigurationTypeError) as info:
        WebhooksServices(run_jobs=False).listen(secret, [HOOK])
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert says in str(info.value)


@pytest.mark.parametrize(
    "secret", ["padded secret\n", " padded secret", "padded secret\t", ["ok", "padded secret\r\n"]]
)
def test_a_whitespace_padded_secret_is_refused_without_showing_it(secret: str | list[str]) -> None:
    with pytest.raises(ConfigurationError, match="leading or trailing whitespace") as info:
        WebhooksServices(run_jobs=False).listen(secret, [HOOK])
    assert "padded secret" not in str(info.value)
    assert ".strip()" in str(info.value)
    with pytest.raises(ConfigurationError, match="whitespace"):
        verify_signature(b"{}", "0" * 40, secret)


def test_register_checks_the_secret_before_any_request() -> None:
    client = LayerClient("token-0123456789", "app", base_url="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ConfigurationError, match=r"^secret: .*whitespace"):
        register_webhooks(client, "secret\n", "https://example.com", [HOOK])
    with pytest.raises(ConfigurationTypeError, match=r"^secret: .*got None"):
        register_webhooks(client, None, "https://example.com", [HOOK])  # type: ignore[arg-type]


# -- ports -----------------------------------------------------------------------------------


class HalfAQueue:
    def enqueue(self, name: str, data: Any, *, delay: float = 0.0, job_id: str | None = None) -> None: ...


def test_a_queue_that_is_not_a_queue_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationTypeError) as info:
        WebhooksServices(queue="redis://localhost")  # type: ignore[arg-type]
    assert str(info.value) == (
        "queue: expected a Queue such as HueyQueue(RedisHuey('my-app', url='redis://...')) or MemoryQueue(), got str"
    )
    assert info.value.field == "queue"
    with pytest.raises(ConfigurationTypeError, match=r"got HalfAQueue; HalfAQueue has no process\(\)$"):
        WebhooksServices(queue=HalfAQueue())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationTypeError, match=r"^queue: expected a Queue"):
        Receiver("s", [HOOK], "redis://localhost")  # type: ignore[arg-type]


def test_a_store_that_is_not_a_store_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationTypeError, match=r"^store: expected a Store such as RedisStore\(.*got str$"):
        WebhooksServices(store="redis://localhost", run_jobs=False)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationTypeError, match=r"has no add_if_absent\(\), delete\(\), get\(\)$"):
        Receiver("s", [HOOK], MemoryQueue(), store=object())  # type: ignore[arg-type]
    Receiver("s", [HOOK], MemoryQueue(), store=MemoryStore())


def test_hueyqueue_given_a_url_names_the_fix() -> None:
    pytest.importorskip("huey")
    from layer_webhooks.adapters.huey import HueyQueue

    with pytest.raises(ConfigurationTypeError) as info:
        HueyQueue("redis://localhost:6379/0")
    assert info.value.field == "huey"
    assert "expected a Huey instance such as RedisHuey('my-app', url='redis://...'), got str" in str(info.value)


# -- the client ------------------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["api.layer.com", "ftp://api.layer.com", "https://", "https://x.test/?a=1", 5])
def test_the_client_base_url_needs_a_scheme_and_a_host(base_url: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"^base_url: expected an http"):
        LayerClient("token", "app", base_url=base_url)
    with pytest.raises(ConfigurationError, match=r"^base_url: expected an http"):
        WebhooksServices("token", "app", base_url=base_url, run_jobs=False)


def test_a_base_url_with_credentials_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as info:
        LayerClient("token", "app", base_url="user:hunter2@api.layer.com")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("timeout", [0, -1, None, True, "10", float("nan")])
def test_the_client_timeout_must_be_positive_seconds(timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"^timeout: expected seconds per request > 0"):
        LayerClient("token", "app", timeout=timeout)
    assert LayerClient("token", "app", base_url="https://api.layer.com/", timeout=2).base_url == "https://api.layer.com"


# -- handlers --------------------------------------------------------------------------------


def test_process_without_parentheses_shows_the_right_form() -> None:
    services = WebhooksServices(run_jobs=False)
    with pytest.raises(ConfigurationTypeError) as info:

        @services.process  # type: ignore[arg-type]
        def on_message(job: Job) -> None: ...

    assert isinstance(info.value, TypeError)
    assert info.value.field == "process"
    assert '@services.process("Webhook Example")' in str(info.value)
    assert "def on_message" in str(info.value)
    assert services.queue.handlers.names() == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "error"), [(None, ConfigurationTypeError), (5, ConfigurationTypeError),
                                           ("", ConfigurationError), ("  ", ConfigurationError)])  # fmt: skip
def test_process_needs_a_name(name: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^process: expected a job name"):
        WebhooksServices(run_jobs=False).process(name)


def test_a_handler_for_a_hook_name_in_another_case_is_refused_both_ways() -> None:
    services = WebhooksServices(run_jobs=False)
    services.listen("s", [HOOK])
    with pytest.raises(ConfigurationError, match=r"did you mean 'Webhook Example'\?") as info:
        services.process("webhook example")
    assert str(info.value).startswith("process: no hook is named 'webhook example'")
    later = WebhooksServices(run_jobs=False)
    later.process("webhook  Example")(lambda job: None)  # before any hook: nothing to check yet
    with pytest.raises(ConfigurationError, match=r"no hook is named 'webhook  Example'; did you mean 'Webhook Ex"):
        later.listen("s", [HOOK])


def test_a_handler_no_hook_has_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="layer_webhooks")
    services = WebhooksServices(run_jobs=False)
    services.process("before any hook")(lambda job: None)
    assert caplog.records == []
    services.listen("s", [HOOK])
    assert caplog.records == []  # not near a hook's name: it may be a job enqueued by hand
    services.process("Webhook Exmaple")(lambda job: None)
    services.process("nightly report")(lambda job: None)
    first, second = caplog.records
    assert first.name == "layer_webhooks.services"
    assert "process('Webhook Exmaple'): no hook of these services is named so" in first.getMessage()
    assert "did you mean 'Webhook Example'?" in first.getMessage()
    assert "did you mean" not in second.getMessage()
    assert "'Webhook Example'" in second.getMessage()
    caplog.clear()
    services.process("Webhook Example")(lambda job: None)
    assert caplog.records == []


def test_a_near_miss_registered_before_its_receiver_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="layer_webhooks")
    services = WebhooksServices(run_jobs=False)
    services.process("Webhook Exmaple")(lambda job: None)
    services.listen("s", [HOOK])
    [record] = caplog.records
    assert "did you mean 'Webhook Example'?" in record.getMessage()


def _queues() -> list[Any]:
    queues: list[Any] = [MemoryQueue()]
    try:
        from huey import MemoryHuey

        from layer_webhooks.adapters.huey import HueyQueue
    except ImportError:
        return queues
    return [*queues, HueyQueue(MemoryHuey("checks", immediate=False))]


def test_a_second_handler_for_one_name_raises_on_every_queue() -> None:
    def first(job: Job) -> None: ...

    def second(job: Job) -> None: ...

    for queue in _queues():
        queue.process("Webhook Example", first)
        with pytest.raises(ConfigurationError) as info:
            queue.process("Webhook Example", second)
        text = str(info.value)
        assert text.startswith("name: jobs named 'Webhook Example' have a handler already")
        assert "first" in text
        assert "second" in text
        assert queue.handlers.get("Webhook Example").handler is first
        queue.process("Webhook Example", first, attempts=3)  # the same function again: replaced
        assert queue.handlers.get("Webhook Example").policy.attempts == 3
        if hasattr(queue, "close"):
            queue.close()
    services = WebhooksServices(run_jobs=False)
    services.process("A")(first)
    with pytest.raises(ConfigurationError, match="have a handler already"):
        services.process("A")(second)


def test_a_job_without_a_handler_names_the_handler_it_probably_meant(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="layer_webhooks")
    clock = Clock()
    queue = MemoryQueue(now=clock)
    queue.process("webhook example", lambda job: None)
    queue.enqueue("Webhook Example", {})
    assert queue.run_due() == 1
    assert "no handler registered for jobs named 'Webhook Example'; did you mean 'webhook example'?" in caplog.text


def test_a_queue_refuses_a_name_or_a_handler_that_cannot_work() -> None:
    queue = MemoryQueue()
    with pytest.raises(ConfigurationTypeError, match=r"^name: expected a job name"):
        queue.process(5, lambda job: None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"^name: a job name must be a non-empty string"):
        queue.process("", lambda job: None)
    with pytest.raises(ConfigurationTypeError, match=r"^handler: expected a function"):
        queue.process("j", "not a function")  # type: ignore[arg-type]
