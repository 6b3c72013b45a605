from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from support.payloads import compact, load_fixture, recorded

from layer_webhooks import ConfigurationError, InvalidSignature, sign, verify_signature

BODY = compact(load_fixture("message.sent"))


def test_sign_is_lowercase_hex_hmac_sha1_of_the_raw_bytes() -> None:
    expected = hmac.new(b"s3cret", BODY, hashlib.sha1).hexdigest()
    assert sign(BODY, "s3cret") == expected
    assert sign(BODY.decode(), "s3cret") == expected
    assert expected == expected.lower() and len(expected) == 40


def test_verify_accepts_the_right_signature_in_either_case() -> None:
    verify_signature(BODY, sign(BODY, "s3cret"), "s3cret")
    verify_signature(BODY, sign(BODY, "s3cret").upper(), "s3cret")


def test_one_flipped_byte_is_refused() -> None:
    signature = sign(BODY, "s3cret")
    flipped = bytearray(BODY)
    flipped[len(flipped) // 2] ^= 0x01
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_signature(bytes(flipped), signature, "s3cret")


def test_re_indented_json_with_the_signature_of_the_compact_bytes_is_refused() -> None:
    pretty = json.dumps(json.loads(BODY), indent=2).encode()
    assert json.loads(pretty) == json.loads(BODY)
    with pytest.raises(InvalidSignature):
        verify_signature(pretty, sign(BODY, "s3cret"), "s3cret")


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("abc", "malformed"),
        ("z" * 40, "malformed"),
        ("é" * 40, "malformed"),
        ("sha1=" + "0" * 40, "malformed"),
        ("0" * 40, "does not match"),
    ],
)
def test_missing_malformed_or_wrong_signatures(signature: str | None, reason: str) -> None:
    with pytest.raises(InvalidSignature, match=reason) as info:
        verify_signature(BODY, signature, "s3cret")
    assert info.value.status_code == 403


def test_several_secrets_while_rotating() -> None:
    verify_signature(BODY, sign(BODY, "new"), ["old", "new"])
    verify_signature(BODY, sign(BODY, "old"), ("old", "new"))
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, sign(BODY, "other"), ["old", "new"])


@pytest.mark.parametrize("secrets", ["", [], ["ok", ""], [b"bytes"]])
def test_an_empty_secret_is_refused_up_front(secrets: object) -> None:
    with pytest.raises(ConfigurationError):
        verify_signature(BODY, sign(BODY, "x"), secrets)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        sign(BODY, "")


@pytest.mark.parametrize("name", ["efb-v2-message", "idk-v2-message"])
def test_recorded_real_deliveries_verify(name: str) -> None:
    delivery = recorded(name)
    body = delivery["body"].encode("utf-8")
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    verify_signature(body, headers["layer-webhook-signature"], delivery["secret"])
    with pytest.raises(InvalidSignature):
        verify_signature(body + b" ", headers["layer-webhook-signature"], delivery["secret"])
