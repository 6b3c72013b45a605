"""For any method, path, headers and body, ``handle`` never raises and never answers 500."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.payloads import SECRET, compact, load_fixture

from layer_webhooks import Hook, MemoryQueue, Receiver, Request, sign

RECEIVER = Receiver(
    SECRET,
    [Hook("A", "/hook", events=["message.sent"]), Hook("B", "/hook"), Hook("C", "/other")],
    MemoryQueue(),
    max_body_bytes=4096,
)
VALID = compact(load_fixture("message.sent"))

methods = st.sampled_from(["GET", "POST", "PUT", "HEAD", "DELETE", "get", "post", ""]) | st.text(max_size=10)
paths = st.sampled_from(["/hook", "/hook/", "/other", "/", "", "/hook//", "/x"]) | st.text(max_size=30)
header_names = st.sampled_from(
    ["Content-Type", "layer-webhook-signature", "Layer-Webhook-Request-Id", "content-length", "x-any"]
) | st.text(max_size=20)
header_values = st.sampled_from(
    ["application/json", "application/x+json; v=1", sign(VALID, SECRET), "0" * 40, "é" * 40, ""]
) | st.text(max_size=60)
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
bodies = (
    st.binary(max_size=5000)
    | st.just(VALID)
    | json_like.map(lambda v: compact({"event": v}))
    | json_like.map(lambda v: compact({"event": {"type": "message.sent", "id": v}, "message": v}))
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=methods,
    path=paths,
    query=st.text(max_size=40),
    headers=st.lists(st.tuples(header_names, header_values), max_size=6),
    body=bodies,
    sign_it=st.booleans(),
)
def test_handle_never_raises_and_never_answers_500(
    method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, sign_it: bool
) -> None:
    if sign_it:
        headers = [*headers, ("layer-webhook-signature", sign(body, SECRET)), ("content-type", "application/json")]
        headers.reverse()  # the signed pair is first, so it wins
    request = Request(method, path, query, headers, body)
    for response in (RECEIVER.handle(request), asyncio.run(RECEIVER.handle_async(request))):
        if response is None:
            assert not RECEIVER.owns(path)
        else:
            assert response.status in {200, 400, 403, 405, 413, 415}
            assert isinstance(response.body, bytes)
