"""``layer-webhooks verify``: check the signature of a captured delivery."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .._layer import SIGNATURE_HEADER
from ..errors import ConfigurationError, InvalidSignature
from ..receiving._signing import secret_keys, verify_signature
from ._common import EXIT_FAILED, EXIT_OK, CommandError, UsageError, secrets_of, show, show_json

NAME = "verify"


def add_to(commands: Any) -> None:
    """Add the command to the ``layer-webhooks`` parser's sub-commands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        NAME,
        help="check a captured delivery's signature (exit 0 valid, 1 invalid)",
        description=(
            "Check the layer-webhook-signature of a captured delivery: a body and its signature "
            "(--signature SIG FILE, FILE - for standard input), or a whole HTTP request as captured "
            "(--request FILE: request line, headers, blank line, body). Exit 0 when it is valid, 1 "
            "when not, saying why. Needs no extra."
        ),
    )
    parser.add_argument(
        "--secret",
        action="append",
        help="the webhook secret; repeat while one is rotated (default: $LAYER_WEBHOOK_SECRET)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--signature", metavar="SIG", help="the layer-webhook-signature header's value")
    source.add_argument("--request", metavar="FILE", help="a captured HTTP request (headers and body)")
    parser.add_argument("file", nargs="?", metavar="FILE", help="with --signature: the raw body (- for stdin)")
    parser.add_argument("--json", action="store_true", help="print {valid, reason, bytes} as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Verify, print the verdict, and return 0 (valid) or 1 (invalid)."""
    secrets = secrets_of(args.secret)
    try:
        secret_keys(secrets)
    except ConfigurationError as exc:
        raise UsageError(f"--secret: {exc}") from None
    if args.signature is not None:
        if args.file is None:
            raise UsageError("--signature needs the body's FILE (- for standard input)")
        body, signature, note = _read(args.file), args.signature, ""
    else:
        if args.file is not None:
            raise UsageError("--request takes the whole capture: give no other FILE")
        body, signature, note = parse_capture(_read(args.request))
    valid, reason = check(body, signature, secrets)
    if not valid and note:
        reason += f" ({note})"
    if args.json:
        show_json({"valid": valid, "reason": reason, "bytes": len(body)})
    else:
        show(f"{'valid' if valid else 'invalid'}: {reason}")
    return EXIT_OK if valid else EXIT_FAILED


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {name!r}: {exc.strerror or exc}") from None


def parse_capture(raw: bytes) -> tuple[bytes, str | None, str]:
    """The body, the signature header and a note about the body's length, from a captured request.

    The head ends at the first blank line (CRLF or LF); a ``Content-Length`` cuts the body.
    """
    ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep)) >= 0]
    if not ends:
        raise CommandError("the capture has no blank line between its headers and its body")
    at, size = min(ends)
    head, body = raw[:at].decode("latin-1"), raw[at + size :]
    headers: dict[str, str] = {}
    for line in head.splitlines()[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    note = ""
    length = headers.get("content-length", "")
    if length.isdigit():
        if len(body) >= int(length):
            body = body[: int(length)]
        else:
            note = f"the capture has {len(body)} bytes of body, Content-Length says {length}: it was cut"
    return body, headers.get(SIGNATURE_HEADER), note


def check(body: bytes, signature: str | None, secrets: list[str]) -> tuple[bool, str]:
    """``(valid, reason)`` for ``body`` and ``signature`` under any of ``secrets``."""
    try:
        verify_signature(body, signature, secrets)
    except InvalidSignature as exc:
        return False, str(exc) + _hint(body, signature, secrets)
    return True, f"{SIGNATURE_HEADER} matches the body ({len(body)} bytes)"


def _hint(body: bytes, signature: str | None, secrets: list[str]) -> str:
    # The usual causes: a capture that added a newline, or a body parsed and serialised again.
    candidates = []
    if body.endswith(b"\n"):
        candidates.append((body.rstrip(b"\r\n"), "; it matches without the final newline: the capture added one"))
    try:
        compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, RecursionError):
        compact = body
    if compact != body:
        candidates.append((compact, "; it matches the body as compact JSON: something re-serialised the body"))
    for candidate, hint in candidates:
        try:
            verify_signature(candidate, signature, secrets)
        except InvalidSignature:
            continue
        return hint
    return ""
