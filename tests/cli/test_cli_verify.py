"""``layer-webhooks verify``: a captured delivery, checked; exit 0 valid, 1 invalid, saying why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.commands import cli

from layer_webhooks.cli import main
from layer_webhooks.testing import compact, layer_headers, make_event

SECRET = "capture secret"


def capture(tmp_path: Path, *, tamper: bool = False, newline: bool = False) -> Path:
    body = compact(make_event("message.sent", text="hello"))
    headers = layer_headers(body, SECRET)
    if tamper:
        body = body.replace(b"hello", b"hellO")
    head = "POST /hook HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if not newline:
        head += f"Content-Length: {len(body)}\r\n"
    path = tmp_path / ("tampered.http" if tamper else "captured.http")
    path.write_bytes(head.encode() + b"\r\n" + body + (b"\n" if newline else b""))
    return path


@pytest.mark.slow
def test_a_good_and_a_tampered_capture(tmp_path: Path) -> None:
    good = cli("verify", "--secret", SECRET, "--request", str(capture(tmp_path)), cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("valid: layer-webhook-signature matches the body (")
    bad = cli("verify", "--request", str(capture(tmp_path, tamper=True)), cwd=tmp_path,
              extra_env={"LAYER_WEBHOOK_SECRET": SECRET})  # fmt: skip
    assert bad.returncode == 1
    assert bad.stdout == "invalid: layer-webhook-signature does not match the body\n"
    assert "Traceback" not in bad.stderr and "error" not in bad.stderr


def test_a_body_and_its_signature(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = compact(make_event("message.read"))
    (tmp_path / "body.json").write_bytes(body)
    signature = layer_headers(body, SECRET)["layer-webhook-signature"]
    assert (
        main(["verify", "--secret", "old", "--secret", SECRET, "--signature", signature, str(tmp_path / "body.json")])
        == 0
    )
    assert main(["verify", "--secret", SECRET, "--signature", "0" * 40, str(tmp_path / "body.json"), "--json"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"valid: layer-webhook-signature matches the body ({len(body)} bytes)"
    assert json.loads(out[1]) == {"valid": False, "reason": "layer-webhook-signature does not match the body",
                                  "bytes": len(body)}  # fmt: skip
    assert main(["verify", "--secret", SECRET, "--signature", "xyz", str(tmp_path / "body.json")]) == 1
    assert "malformed" in capsys.readouterr().out


def test_why_a_capture_does_not_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--secret", SECRET, "--request", str(capture(tmp_path, newline=True))]) == 1
    assert "it matches without the final newline: the capture added one" in capsys.readouterr().out
    body = compact(make_event("message.sent"))
    pretty = json.dumps(json.loads(body), indent=2).encode()
    (tmp_path / "pretty.json").write_bytes(pretty)
    signature = layer_headers(body, SECRET)["layer-webhook-signature"]
    assert main(["verify", "--secret", SECRET, "--signature", signature, str(tmp_path / "pretty.json")]) == 1
    assert "something re-serialised the body" in capsys.readouterr().out
    raw = capture(tmp_path).read_bytes()
    (tmp_path / "cut.http").write_bytes(raw[:-10])
    assert main(["verify", "--secret", SECRET, "--request", str(tmp_path / "cut.http")]) == 1
    assert "Content-Length says" in capsys.readouterr().out
    (tmp_path / "nohead.http").write_bytes(b"POST / HTTP/1.1\r\nHost: x")
    assert main(["verify", "--secret", SECRET, "--request", str(tmp_path / "nohead.http")]) == 1
    assert "no blank line" in capsys.readouterr().err
    (tmp_path / "nosig.http").write_bytes(b"POST / HTTP/1.1\nHost: x\n\n{}")
    assert main(["verify", "--secret", SECRET, "--request", str(tmp_path / "nosig.http")]) == 1
    assert "missing layer-webhook-signature header" in capsys.readouterr().out


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["verify", "--secret", SECRET, "--signature", "ab"]) == 2
    assert main(["verify", "--secret", SECRET, "--request", "a.http", "b"]) == 2
    assert main(["verify", "--secret", SECRET, "--request", str(tmp_path / "missing.http")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["verify", "--secret", "", "--signature", "ab", "-"]) == 2
    import io

    body = b'{"event":{"type":"message.sent"}}'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(body)))
    signature = layer_headers(body, SECRET)["layer-webhook-signature"]
    assert main(["verify", "--secret", SECRET, "--signature", signature, "-"]) == 0
