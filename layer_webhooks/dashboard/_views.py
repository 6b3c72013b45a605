"""The dashboard's HTML, rendered on the server from plain values (no script, no framework).

Every value is escaped; nothing here ever receives a secret, a token or a signature: webhooks
come without secrets, deliveries as :class:`~layer_webhooks.receiving._receiver.Answered`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..jobs._job import DeadLetter, Job
from ..receiving._receiver import Answered

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2330;background:#fafbfc}
header{display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}h1{font-size:1.3rem;margin:0}
h2{font-size:1.05rem;margin:1.6rem 0 .4rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #dde1e7;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f2f5}td.error{font-family:monospace;font-size:12px;max-width:32rem;overflow-wrap:anywhere}
.notice{background:#e8f5e9;border:1px solid #a5d6a7;padding:.5rem}.muted{color:#6b7280}
.bad{color:#b42318}.ok{color:#067647}form{display:inline;margin:0}button{cursor:pointer}
"""
#: Rows shown per table; the count says how many there are in all.
ROWS = 100


@dataclass
class Snapshot:
    """Everything one page shows, read in one go."""

    queue: str
    pending: list[Job] = field(default_factory=list)
    pending_count: int = 0
    dead: list[DeadLetter] = field(default_factory=list)
    dead_count: int = 0
    webhooks: list[Mapping[str, Any]] | None = None
    webhooks_note: str = ""
    deliveries: list[Answered] = field(default_factory=list)
    recording: bool = True


def when(seconds: float) -> str:
    """Seconds since the epoch as a UTC time."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) if seconds else "-"


def _cells(values: Iterable[object], tag: str = "td") -> str:
    return "".join(f"<{tag}>{escape(str(v))}</{tag}>" for v in values)


def _table(table_id: str, headers: Sequence[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="muted" id="{table_id}-empty">{escape(empty)}</p>'
    return f'<table id="{table_id}"><tr>{_cells(headers, "th")}</tr>{"".join(rows)}</table>'


def _more(shown: int, count: int) -> str:
    return f'<p class="muted">showing {shown} of {count}</p>' if count > shown else ""


def _button(root: str, action: str, job_id: str, label: str, signed_in: bool) -> str:
    disabled = "" if signed_in else ' disabled title="sign in to act"'
    return (
        f'<form method="post" action="{escape(root)}/jobs/{action}">'
        f'<input type="hidden" name="job_id" value="{escape(job_id)}">'
        f'<button type="submit" class="{action}" data-job="{escape(job_id)}"{disabled}>{label}</button></form>'
    )


def webhooks_section(snapshot: Snapshot) -> str:
    """Layer's webhooks and their status, or why they are not shown."""
    if snapshot.webhooks is None:
        return f'<p class="muted" id="webhooks-note">{escape(snapshot.webhooks_note)}</p>'
    rows = []
    for webhook in snapshot.webhooks:
        config = webhook.get("config", webhook.get("target_config"))
        name = config.get("name", "") if isinstance(config, Mapping) else ""
        events = webhook.get("events", webhook.get("event_types")) or []
        status = str(webhook.get("status"))
        css = "ok" if status == "active" else "bad"
        rows.append(
            f'<tr><td>{escape(str(name))}</td><td class="{css}">{escape(status)}</td>'
            + _cells(
                (
                    webhook.get("status_reason") or "",
                    webhook.get("target_url"),
                    ", ".join(map(str, events)),
                    str(webhook.get("id", "")).rsplit("/", 1)[-1],
                )
            )
            + "</tr>"
        )
    headers = ("Name", "Status", "Reason", "Target", "Events", "Id")
    return _table("webhooks", headers, rows, "No webhooks are registered for this app.")


def jobs_sections(snapshot: Snapshot, root: str, signed_in: bool) -> str:
    """The dead jobs, with replay and discard buttons, then the pending ones."""
    dead_rows = [
        f'<tr id="dead-{escape(d.job.id)}">'
        + _cells((d.job.id, d.job.name, d.job.attempt, when(d.failed_at)))
        + f'<td class="error">{escape(d.error[:500])}</td><td>'
        + _button(root, "replay", d.job.id, "Replay", signed_in)
        + " "
        + _button(root, "discard", d.job.id, "Discard", signed_in)
        + "</td></tr>"
        for d in snapshot.dead
    ]
    pending_rows = [f"<tr>{_cells((j.id, j.name, j.attempt))}</tr>" for j in snapshot.pending]
    return (
        f"<h2>Dead jobs ({snapshot.dead_count})</h2>"
        + _table(
            "dead",
            ("Id", "Name", "Attempt", "Failed (UTC)", "Last error", ""),
            dead_rows,
            "No dead jobs: every job that failed has been retried or replayed.",
        )
        + _more(len(snapshot.dead), snapshot.dead_count)
        + f"<h2>Pending jobs ({snapshot.pending_count})</h2>"
        + _table("pending", ("Id", "Name", "Attempt"), pending_rows, "No job is waiting or running.")
        + _more(len(snapshot.pending), snapshot.pending_count)
    )


def deliveries_section(snapshot: Snapshot) -> str:
    """The last requests the receivers answered, newest first."""
    if not snapshot.recording:
        return '<p class="muted">No receiver serves in this process, so none is recorded here.</p>'
    rows = []
    for answer in snapshot.deliveries:
        what = answer.event_type or ("verification challenge" if answer.method == "GET" else "-")
        css = "ok" if 200 <= answer.status < 300 else "bad"
        rows.append(
            f"<tr>{_cells((when(answer.at), answer.method, answer.path, what, answer.event_id or '-'))}"
            f'<td class="{css}">{answer.status}</td></tr>'
        )
    headers = ("Time (UTC)", "Method", "Path", "Event", "Event id", "Answer")
    return _table("deliveries", headers, rows, "Nothing received yet.")


def sign_in(root: str, signed_in: bool) -> str:
    """The sign-in form (a password field: the token is never shown), or the sign-out button."""
    if signed_in:
        return f'<form method="post" action="{escape(root)}/logout"><button id="logout">Sign out</button></form>'
    return (
        f'<form method="post" action="{escape(root)}/login" id="login">'
        '<input type="password" name="token" placeholder="dashboard token" autocomplete="off" required> '
        '<button type="submit">Sign in to replay or discard</button></form>'
    )


def page(snapshot: Snapshot, root: str, signed_in: bool, notice: str = "") -> str:
    """The whole page."""
    flash = f'<p class="notice" id="notice">{escape(notice)}</p>' if notice else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>layer-webhooks dashboard</title><style>{STYLE}</style></head><body>"
        f'<header><h1>layer-webhooks</h1><span class="muted">queue {escape(snapshot.queue)}</span>'
        f'<a href="{escape(root)}/">Refresh</a>{sign_in(root, signed_in)}</header>{flash}'
        f"<h2>Webhooks at Layer</h2>{webhooks_section(snapshot)}"
        f"{jobs_sections(snapshot, root, signed_in)}"
        f"<h2>Last deliveries received</h2>{deliveries_section(snapshot)}"
        "</body></html>"
    )


def refused(reason: str, root: str) -> str:
    """The page of a refused action."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>refused</title></head><body>'
        f'<p class="bad" id="refused">{escape(reason)}</p><p><a href="{escape(root)}/">Back</a></p></body></html>'
    )
