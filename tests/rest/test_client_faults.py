"""A token that cannot go in an HTTP header is refused when the client is made, without its value.

Such a token used to reach the wire: ``Bearer tok\\n`` in ``LayerAPIError`` texts and in the
retry warnings, and a non-Latin-1 one a raw ``UnicodeEncodeError`` whose args held the header.
"""

from __future__ import annotations

import pytest

from layer_webhooks import ConfigurationError, LayerClient

APP = "7c1c7ac2-0000-4000-8000-000000000001"
SECRET_PART = "s3cr3t-9f8e7d"


@pytest.mark.parametrize(
    "token",
    [
        f"{SECRET_PART}\n",
        f"{SECRET_PART}\r\nX-Injected: 1",
        f"{SECRET_PART}\u20ac",  # outside Latin-1
        f"{SECRET_PART}\x00",
        f"{SECRET_PART}\x85",  # a C1 control character (NEL)
        f" {SECRET_PART}",
        f"{SECRET_PART}\t",
    ],
    ids=["newline", "header injection", "euro sign", "nul", "nel", "leading space", "trailing tab"],
)
def test_a_token_unfit_for_a_header_is_refused_naming_the_field_not_the_value(token: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^token: ") as raised:
        LayerClient(token, APP)
    assert SECRET_PART not in str(raised.value)
    assert SECRET_PART not in repr(raised.value.args)
    assert raised.value.__cause__ is None and raised.value.__context__ is None


@pytest.mark.parametrize("token", ["tok-9f8e7d6c5b4a", "emulator token", "a.b_c~d+e/f=", "caf\u00e9"])
def test_tokens_fit_for_a_header_are_taken(token: str) -> None:
    with LayerClient(token, APP) as client:
        assert token not in repr(client)
