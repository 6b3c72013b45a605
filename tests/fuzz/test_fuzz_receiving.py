"""Properties of the receiving core under hostile input: ``verify_signature``, ``parse_event``,
``Receiver.handle``. Never an exception escaping, never a 500; the expected answer for each
class of bad input. Bounded (``max_examples``) so that the whole file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.payloads import SECRET, compact, load_fixture, signed

from layer_webhooks import (
    ConfigurationError,
    Event,
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
from layer_webhooks.receiving._payload import MAX_DEPTH

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID = compact(load_fixture("message.sent"))

signatures = (
    st.text(max_size=50)
    | st.text(alphabet="0123456789abcdefABCDEF \t\x00", min_size=38, max_size=42)
    | st.just(sign(VALID, SECRET))
    | st.none()
)
secrets = st.text(max_size=20) | st.lists(st.text(max_size=10), max_size=3)


@FAST
@given(body=st.binary(max_size=2000) | st.just(VALID), signature=signatures, keys=secrets)
def test_verify_signature_answers_or_refuses_and_nothing_else(body: bytes, signature: str | None, keys: Any) -> None:
    try:
        verify_signature(body, signature, keys)
    except (InvalidSignature, ConfigurationError):
        return
    assert signature is not None
    assert any(sign(body, key) == signature.strip() for key in ([keys] if isinstance(keys, str) else keys))


@FAST
@given(body=st.binary(max_size=300), secret=st.text(min_size=1, max_size=20).filter(lambda s: s == s.strip()))
def test_the_signature_of_a_body_verifies_it_and_no_other(body: bytes, secret: str) -> None:
    verify_signature(body, sign(body, secret), secret)
    for changed in (body + b" ", body[1:]):
        if changed != body:
            try:
                verify_signature(changed, sign(body, secret), secret)
            except InvalidSignature:
                continue
            raise AssertionError("a changed body verified")


# -- parse_event --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)


@FAST
@given(body=st.binary(max_size=3000) | json_values.map(lambda v: json.dumps(v).encode()))
def test_parse_event_gives_an_event_or_invalid_payload(body: bytes) -> None:
    try:
        event = parse_event(body)
    except InvalidPayload:
        return
    assert isinstance(event, Event) and isinstance(event.type, str) and event.type


@FAST
@given(depth=st.integers(1, 100_000), opener=st.sampled_from(["[", '{"a":']))
def test_nesting_deeper_than_the_bound_is_invalid_payload_never_a_recursion_error(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    body = ('{"event":{"type":"x"},"deep":' + opener * depth + "1" + closer * depth + "}").encode()
    refused = ""
    try:
        parse_event(body)
    except InvalidPayload as exc:
        refused = str(exc)
    assert ("deeper than" in refused) == (depth + 1 > MAX_DEPTH), refused


@FAST
@given(
    mantissa=st.integers(1, 10**20),
    exponent=st.integers(309, 100_000) | st.integers(-100_000, -400),
    sign_=st.sampled_from(["", "-"]),
)
def test_numbers_beyond_a_float_are_refused_and_tiny_ones_read_as_zero(
    mantissa: int, exponent: int, sign_: str
) -> None:
    body = f'{{"event":{{"type":"x"}},"n":{sign_}{mantissa}e{exponent}}}'.encode()
    if exponent > 0:
        try:
            parse_event(body)
        except InvalidPayload:
            return
        raise AssertionError("an infinite number was read")
    assert parse_event(body).raw["n"] == 0.0


@FAST
@given(junk=st.binary(min_size=1, max_size=8).filter(lambda b: not _is_utf8(b)))
def test_invalid_utf8_is_invalid_payload(junk: bytes) -> None:
    body = b'{"event":{"type":"x"},"s":"' + junk + b'"}'
    try:
        event = parse_event(body)
    except InvalidPayload:
        return
    # Surrogates encoded as UTF-8 (ED A0..BF xx) are read as the code points they stand for.
    assert b"\xed" in junk and event.raw["s"]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# -- Receiver.handle: the expected answer per class ---------------------------------------------

QUEUE = MemoryQueue()
RECEIVER = Receiver(SECRET, [Hook("Webhook Example", "/hook")], QUEUE, max_body_bytes=500_000)
SEEN: list[Job] = []
QUEUE.process("Webhook Example", SEEN.append)


def answer(body: bytes) -> int:
    """The status of ``body`` delivered signed, through both drivers (which must agree)."""
    request = signed(body)
    statuses = {RECEIVER.handle(request).status, asyncio.run(RECEIVER.handle_async(request)).status}  # type: ignore[union-attr]
    assert len(statuses) == 1, statuses
    return statuses.pop()


def delivered(body: bytes) -> Job:
    """What the handler gets of an accepted ``body``."""
    SEEN.clear()
    assert answer(body) == 200
    QUEUE.run_due()
    [job] = SEEN
    return job


IDS = itertools.count()


def message_with(text_json: str) -> bytes:
    """message.sent, with an event id of its own and the part's body given as raw JSON text."""
    payload = load_fixture("message.sent")
    payload["event"]["id"] = f"fuzz-{next(IDS)}"
    payload["message"]["parts"][0]["body"] = "__body__"
    return compact(payload).replace(b'"__body__"', text_json.encode("utf-8", "surrogatepass"))


surrogates = st.integers(0xD800, 0xDFFF).map(chr)
texts = st.lists(st.text(max_size=5) | surrogates, max_size=6).map("".join)


@FAST
@given(text=texts, escaped=st.booleans())
def test_text_with_lone_surrogates_is_accepted_and_handed_over_as_parsed(text: str, escaped: bool) -> None:
    raw = json.dumps(text, ensure_ascii=escaped)
    body = message_with(raw)
    job = delivered(body)
    assert job.data["message"]["parts"][0]["body"] == parse_event(body).raw["message"]["parts"][0]["body"]


@FAST
@given(first=json_values, last=json_values)
def test_duplicate_keys_are_accepted_the_last_one_winning_everywhere(first: Any, last: Any) -> None:
    body = message_with(f'{json.dumps(first)},"body":{json.dumps(last)}')
    job = delivered(body)
    assert job.data["message"]["parts"][0]["body"] == last == parse_event(body).raw["message"]["parts"][0]["body"]


@FAST
@given(before=st.text(max_size=5), after=st.text(max_size=5))
def test_nul_is_accepted_escaped_and_refused_raw(before: str, after: str) -> None:
    escaped = message_with(json.dumps(before + "\x00" + after))
    assert delivered(escaped).data["message"]["parts"][0]["body"] == before + "\x00" + after
    raw = message_with('"' + before.replace('"', "") + "\x00" + '"')
    assert answer(raw) == 400  # a control character inside a string is not JSON
    assert answer(VALID.replace(b"{", b"{\x00", 1)) == 400


@FAST
@given(mantissa=st.integers(1, 999), exponent=st.integers(309, 99_999), where=st.sampled_from(["body", "top"]))
def test_huge_numbers_anywhere_are_400(mantissa: int, exponent: int, where: str) -> None:
    number = f"{mantissa}e{exponent}"
    body = message_with(number) if where == "body" else VALID[:-1] + f',"n":{number}}}'.encode()
    assert answer(body) == 400


@settings(max_examples=40, deadline=None)
@given(depth=st.integers(MAX_DEPTH, 200_000))
def test_deep_nesting_is_400(depth: int) -> None:
    assert answer(message_with("[" * depth + "]" * depth)) == 400


@FAST
@given(junk=st.binary(min_size=1, max_size=6).filter(lambda b: not _is_utf8(b) and b"\xed" not in b))
def test_invalid_utf8_is_400(junk: bytes) -> None:
    body = message_with('"x"').replace(b'"x"', b'"' + junk + b'"')
    assert answer(body) == 400


@FAST
@given(challenge=st.text(max_size=40) | st.sampled_from(["a\r\nSet-Cookie: x=1", "a\nb", "\x00", "<script>"]))
def test_the_challenge_is_echoed_in_the_body_only(challenge: str) -> None:
    from urllib.parse import quote

    response = RECEIVER.handle(Request("GET", "/hook", "verification_challenge=" + quote(challenge)))
    assert response is not None and response.status == 200
    assert response.body == challenge.encode("utf-8")
    names = [name.lower() for name, _ in response.headers]
    assert names == ["content-type", "x-content-type-options", "content-length"]
    assert all("\n" not in value and "\r" not in value for _, value in response.headers)
