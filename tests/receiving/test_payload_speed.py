"""The ``speed`` extra (orjson) reads every body and every job record exactly as the standard
library does: the same payload, the same JSON text, the same refusal. Each case runs on both
paths (orjson's only where it is installed: the ``all`` env; the py3xx envs have none).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.payloads import SECRET, compact, load_fixture, signed

from layer_webhooks import Hook, InvalidPayload, Job, MemoryQueue, Receiver
from layer_webhooks.jobs import _codec
from layer_webhooks.jobs._codec import decode, encode
from layer_webhooks.receiving._decision import listen_job
from layer_webhooks.receiving._events import Event
from layer_webhooks.receiving._payload import MAX_DEPTH, load_payload_text

try:
    import orjson
except ImportError:  # the py3xx envs: the standard library's path alone
    orjson = None  # type: ignore[assignment]

PATHS = ["json", pytest.param("orjson", marks=pytest.mark.skipif(orjson is None, reason="orjson not installed"))]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Parse on one path: the standard library's (``json``) or orjson's."""
    name: str = request.param
    monkeypatch.setattr(_codec, "fast_loads", orjson.loads if name == "orjson" else None)
    return name


@contextlib.contextmanager
def on_path(name: str) -> Iterator[None]:
    saved = _codec.fast_loads
    _codec.fast_loads = orjson.loads if name == "orjson" else None
    try:
        yield
    finally:
        _codec.fast_loads = saved


def outcome(body: bytes) -> tuple[str, str]:
    """What the standard library makes of ``body``: (repr of the payload, its text) or the refusal."""
    try:
        payload, text = load_payload_text(body)
    except InvalidPayload as exc:
        return "refused", str(exc)
    return repr(payload), text


def both(body: bytes) -> tuple[tuple[str, str], tuple[str, str]]:
    with on_path("json"):
        stdlib = outcome(body)
    with on_path("orjson"):
        return stdlib, outcome(body)


MESSAGE = compact(load_fixture("message.sent"))
CASES = {
    "a delivery": MESSAGE,
    "duplicate keys": b'{"event":{"type":"x"},"a":1,"b":2,"a":3}',
    "NaN": b'{"a":NaN}',
    "Infinity": b'{"a":-Infinity}',
    "1e400": b'{"a":1e400}',
    "a float too large": b'{"a":' + b"1" * 400 + b".0}",
    "an integer of 64 bits": b'{"a":18446744073709551615,"b":-9223372036854775808}',
    "an integer past 64 bits": b'{"a":18446744073709551616}',
    "a negative integer past 64 bits": b'{"a":-9223372036854775809}',
    "an integer of 30 digits": b'{"a":' + b"9" * 30 + b"}",
    "tiny and negative zero": b'{"a":1e-400,"b":-0.0,"c":-0,"d":5e-324,"e":0.1}',
    "an escaped lone surrogate": b'{"a":"cut \\ud83d","\\udc00":1}',
    "an escaped pair": b'{"a":"\\ud83d\\ude00"}',
    "a raw lone surrogate": b'{"a":"cut \xed\xa0\xbd"}',
    "raw UTF-8": '{"a":"Grüße 😀"}'.encode(),
    "invalid UTF-8": b'{"a":"\xc3"}',
    "a BOM": b'\xef\xbb\xbf{"a":1}',
    "UTF-16": '{"a":1}'.encode("utf-16-le"),
    "a control character": b'{"a":"\x01"}',
    "trailing data": b'{"a":1}x',
    "whitespace around": b' \t\n{"a":1}\r\n',
    "a form feed": b'\x0c{"a":1}',
    "leading zero": b'{"a":01}',
    "an array": b"[1,2]",
    "empty": b"",
    "nested to the limit": b'{"a":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}",
    "nested past the limit": b'{"a":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",
    "nested past orjson's limit": b'{"a":' + b"[" * 2000 + b"]" * 2000 + b"}",
    "brackets in strings": b'{"a":"' + b"[{" * 200 + b'"}',
}


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_each_body_is_read_or_refused_alike_on_both_paths(path: str, body: bytes) -> None:
    with on_path("json"):
        expected = outcome(body)
    assert outcome(body) == expected


@pytest.mark.skipif(orjson is None, reason="orjson not installed")
def test_orjson_reads_a_plain_delivery_when_it_is_installed() -> None:
    # The extra is used where it is installed: the standard library is the fallback, not the rule.
    assert _codec.fast_loads is orjson.loads
    calls: list[bytes] = []

    def loads(body: bytes) -> Any:
        calls.append(body)
        return orjson.loads(body)

    with on_path("orjson"):
        _codec.fast_loads = loads
        load_payload_text(MESSAGE)
        load_payload_text(CASES["a raw lone surrogate"])  # orjson refuses it; json reads it
        load_payload_text(CASES["an integer past 64 bits"])  # screened out before orjson
    assert calls == [MESSAGE, CASES["a raw lone surrogate"]]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.skipif(orjson is None, reason="orjson not installed")
@FAST
@given(value=st.dictionaries(st.text(max_size=4), json_values, max_size=5), ascii_only=st.booleans())
def test_any_json_object_is_read_alike(value: dict[str, Any], ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    body = text.encode("utf-8", "surrogatepass")
    stdlib, fast = both(body)
    assert fast == stdlib


@pytest.mark.skipif(orjson is None, reason="orjson not installed")
@FAST
@given(
    body=st.binary(max_size=60)
    | st.text(alphabet='{}[]":,.-+eE0123456789 \\ud83tfalsnu\x00é', max_size=60).map(str.encode)
)
def test_any_bytes_are_read_or_refused_alike(body: bytes) -> None:
    stdlib, fast = both(b'{"a":' + body + b"}")
    assert fast == stdlib
    stdlib, fast = both(body)
    assert fast == stdlib


@FAST
@given(data=st.dictionaries(st.text(max_size=4), json_values, max_size=5))
def test_a_record_reads_back_as_it_was_queued(path: str, data: dict[str, Any]) -> None:
    assert repr(decode(encode("job", data))) == repr(("job", data))


def cut(raw: bool) -> bytes:
    """message.sent with a lone surrogate in its text: escaped, or as raw (invalid UTF-8) bytes."""
    payload = load_fixture("message.sent")
    payload["message"]["parts"][0]["body"] = "cut \ud83d"
    return json.dumps(payload, ensure_ascii=not raw).encode("utf-8", "surrogatepass")


def queued_record(body: bytes) -> tuple[str, Job]:
    """The record a receiver queues for ``body``, and the job its handler gets."""
    queue = MemoryQueue()
    ran: list[Job] = []
    queue.process("Webhook Example", ran.append)
    assert Receiver(SECRET, [Hook("Webhook Example", "/hook")], queue).handle(signed(body)).status == 200  # type: ignore[union-attr]
    [item] = queue.ledger.pending()
    assert queue.run_due() == 1
    return item.record, ran[0]


@pytest.mark.parametrize("body", [MESSAGE, cut(raw=False), cut(raw=True)], ids=["plain", "escaped", "raw"])
def test_a_handler_gets_the_data_listen_job_makes_in_its_order(path: str, body: bytes) -> None:
    _, job = queued_record(body)
    payload = json.loads(body.decode("utf-8", "surrogatepass"))
    _, expected, _ = listen_job(Hook("Webhook Example", "/hook"), Event(payload), payload)
    assert repr(list(job.data.items())) == repr(list(expected.items()))


def test_a_record_carries_the_body_as_it_came_and_no_part_of_it_twice(path: str) -> None:
    record, _ = queued_record(MESSAGE)
    assert MESSAGE.decode() in record  # the signed text, not a second serialisation
    assert record.count('"config":') == 1  # in the body only (the fields leave it out)


def test_a_record_from_a_body_orjson_parsed_is_marked_so_and_reads_back_alike(path: str) -> None:
    record, job = queued_record(MESSAGE)
    assert record.startswith(_codec.SCREENED) == (path == "orjson")
    payload = json.loads(MESSAGE)
    _, expected, _ = listen_job(Hook("Webhook Example", "/hook"), Event(payload), payload)
    assert repr(list(job.data.items())) == repr(list(expected.items()))


def test_a_delivery_with_an_integer_past_64_bits_is_not_marked_and_keeps_it_exact(path: str) -> None:
    payload = load_fixture("message.sent")
    payload["message"]["sequence"] = 2**70 + 1  # orjson would read it as a float
    record, job = queued_record(compact(payload))
    assert not record.startswith(_codec.SCREENED)
    assert job.data["message"]["sequence"] == 2**70 + 1 and type(job.data["message"]["sequence"]) is int


@pytest.mark.skipif(orjson is None, reason="orjson not installed")
def test_decode_trusts_the_mark_and_screens_every_other_record(path: str) -> None:
    # The mark is written only for what orjson reads as json does: decode does not look again.
    plain = '{"name":"n","data":{"big":' + str(2**70) + "}}"
    marked = _codec.SCREENED + plain[1:]
    assert decode(plain) == ("n", {"big": 2**70})
    assert decode(marked) == ("n", {"big": float(2**70) if path == "orjson" else 2**70})
