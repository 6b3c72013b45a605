"""``layer-webhooks webhooks``: list, register, activate, deactivate and delete Layer's webhooks."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config._hooks import Hook, as_hooks
from ..errors import ConfigurationError
from ..registration._plan import Action, registered_events
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    add_layer_options,
    base_url,
    secrets_of,
    setting,
    short,
    show,
    show_json,
    table,
)

if TYPE_CHECKING:
    from ..registration._apply import RegistrationReport
    from ..rest._client import LayerClient

NAME = "webhooks"


def add_to(commands: Any) -> None:
    """Add the command and its sub-commands to the ``layer-webhooks`` parser."""
    layer = argparse.ArgumentParser(add_help=False)
    add_layer_options(layer)
    parser: argparse.ArgumentParser = commands.add_parser(
        NAME,
        help="list, register, activate, deactivate or delete your app's webhooks at Layer",
        description=(
            "Your app's webhooks at Layer (or at `layer-webhooks emulator`, with --base-url). "
            "Settings: --token/$LAYER_BEARER_TOKEN, --app-id/$LAYER_APP_ID. Needs no extra."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[layer], help="every webhook and its status")
    listing.add_argument("--json", action="store_true", help="print Layer's JSON (one line)")
    listing.set_defaults(run=run_list)
    register = actions.add_parser(
        "register",
        parents=[layer],
        help="make Layer's webhooks match the hooks in a TOML or JSON file",
        description=(
            "Create the webhooks missing at Layer, activate inactive ones, report those whose events "
            "differ (re-created with --sync). FILE holds the hooks in the Node module's dict form "
            '(name, path, events, delay, receipts): JSON, a list or {"hooks": [...]}; or TOML '
            "(Python 3.11+), [[hooks]] tables. Exit 0 when every webhook matches its hook."
        ),
    )
    register.add_argument("file", metavar="FILE", help="the hooks, .toml or .json")
    register.add_argument("--url", required=True, metavar="BASE_URL", help="where your service serves the hooks")
    register.add_argument("--secret", help="the webhook secret for new webhooks (default: $LAYER_WEBHOOK_SECRET)")
    register.add_argument("--dry-run", action="store_true", help="print the plan as a table; change nothing")
    register.add_argument("--sync", action="store_true", help="re-create webhooks whose events differ")
    register.add_argument("--wait", action="store_true", help="wait (about 10 s) for each verification challenge")
    register.add_argument("--json", action="store_true", help="print the plan and what was done as JSON")
    register.set_defaults(run=run_register)
    for action, words in (
        ("activate", "activate (Layer sends the challenge again)"),
        ("deactivate", "deactivate"),
        ("delete", "delete"),
    ):
        one = actions.add_parser(action, parents=[layer], help=f"{words} one webhook")
        one.add_argument("id", metavar="ID", help="the webhook's UUID or layer:/// id")
        one.add_argument("--json", action="store_true", help="print Layer's answer as JSON")
        one.set_defaults(run=run_one)


def client(args: argparse.Namespace) -> LayerClient:
    """A :class:`LayerClient` from the flags or the environment."""
    from ..rest._client import LayerClient

    token = setting(args.token, "LAYER_BEARER_TOKEN", "--token", "the bearer token")
    app_id = setting(args.app_id, "LAYER_APP_ID", "--app-id", "the app id")
    return LayerClient(token, app_id, base_url=base_url(args))


def _uuid(webhook_id: object) -> str:
    return str(webhook_id).rsplit("/", 1)[-1]


def _config_name(webhook: Mapping[str, Any]) -> str:
    config = webhook.get("config", webhook.get("target_config"))
    return str(config.get("name", "")) if isinstance(config, Mapping) else ""


def public(webhook: Mapping[str, Any]) -> dict[str, Any]:
    """A webhook as Layer shows it, less any secret."""
    return {key: value for key, value in webhook.items() if "secret" not in key.lower()}


def run_list(args: argparse.Namespace) -> int:
    """Print the app's webhooks."""
    with client(args) as layer:
        webhooks = [public(w) for w in layer.webhooks.list()]
    if args.json:
        show_json(webhooks)
        return EXIT_OK
    rows = [
        (
            _uuid(w.get("id")),
            w.get("status"),
            _config_name(w),
            w.get("target_url"),
            ",".join(registered_events(w)),
            short(w.get("status_reason") or "", 50),
        )
        for w in webhooks
    ]
    show(table(("ID", "STATUS", "NAME", "TARGET", "EVENTS", "REASON"), rows))
    return EXIT_OK


def read_hooks(path: str) -> tuple[Hook, ...]:
    """Hooks from a TOML (``[[hooks]]``) or JSON (a list, or ``{"hooks": [...]}``) file."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    data: Any
    if path.endswith(".toml"):
        data = _toml(path, raw)
    else:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise CommandError(f"{path!r} is not JSON: {exc}") from None
    hooks = data.get("hooks") if isinstance(data, dict) else data
    if not isinstance(hooks, list):
        raise CommandError(f"{path!r}: expected a list of hooks, or hooks = [...]")
    try:
        return as_hooks(hooks)
    except ConfigurationError as exc:
        raise CommandError(f"{path!r}: {exc}") from None


def _toml(path: str, raw: bytes) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            return tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CommandError(f"{path!r} is not TOML: {exc}") from None
    raise CommandError(f"reading {path!r} needs Python 3.11 (tomllib): give the hooks as JSON")


def _action_row(action: Action) -> tuple[str, ...]:
    webhook = "-" if action.webhook_id is None else _uuid(action.webhook_id)
    return (
        action.name,
        action.kind,
        webhook,
        action.webhook_status or "-",
        action.target_url,
        ",".join(action.hook.events),
    )


def _report_json(report: RegistrationReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "dry_run": report.dry_run,
        "actions": [
            {
                "hook": a.name,
                "action": a.kind,
                "webhook_id": a.webhook_id,
                "target_url": a.target_url,
                "events": list(a.hook.events),
                "status": a.webhook_status,
            }
            for a in report.actions
        ],
        "steps": [{"hook": s.hook, "op": s.op, "webhook_id": s.webhook_id, "status": s.status} for s in report.steps],
        "errors": [str(e) for e in report.errors],
        "out_of_sync": report.out_of_sync,
    }


def run_register(args: argparse.Namespace) -> int:
    """Plan, and unless ``--dry-run`` carry out, the registration of the file's hooks."""
    from ..registration._apply import register_webhooks

    hooks = read_hooks(args.file)
    (secret,) = secrets_of([args.secret] if args.secret else None)
    with client(args) as layer:
        report = register_webhooks(
            layer, secret, args.url, hooks, dry_run=args.dry_run, sync=args.sync, wait_active=args.wait
        )
    if args.json:
        show_json(_report_json(report))
        return EXIT_OK if report.ok else EXIT_FAILED
    headers = ("HOOK", "ACTION", "WEBHOOK", "STATUS", "TARGET", "EVENTS")
    if args.dry_run:
        show("Plan (dry run: nothing was changed):")
    show(table(headers, [_action_row(a) for a in report.actions]))
    for step in report.steps:
        show(f"done: {step.op} {_uuid(step.webhook_id)} for {step.hook!r} (status {step.status})")
    if report.out_of_sync:
        show(f"out of sync (--sync re-creates them): {', '.join(report.out_of_sync)}")
    for error in report.errors:
        show(f"error: {error}")
    return EXIT_OK if report.ok else EXIT_FAILED


def run_one(args: argparse.Namespace) -> int:
    """Activate, deactivate or delete one webhook."""
    with client(args) as layer:
        webhooks = layer.webhooks
        answer = None
        if args.action == "delete":
            webhooks.delete(args.id)
        else:
            answer = public(webhooks.activate(args.id) if args.action == "activate" else webhooks.deactivate(args.id))
    if args.json:
        show_json(answer if answer is not None else {"id": args.id, "deleted": True})
    elif answer is None:
        show(f"deleted {_uuid(args.id)}")
    else:
        show(f"{args.action}d {_uuid(answer.get('id', args.id))}: status {answer.get('status')}")
    return EXIT_OK
