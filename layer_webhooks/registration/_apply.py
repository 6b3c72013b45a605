"""Registration, applied: list Layer's webhooks, :func:`plan`, carry the actions out over a
:class:`LayerClient`, and report (:class:`RegistrationReport`, one :class:`Step` per change).

The I/O half of registration (the planner, ``_plan.py``, is pure). One failed action becomes
an entry of :attr:`RegistrationReport.errors` and the others still run; only a failed listing
(nothing can be planned) raises. Waiting for a verification challenge uses the client's
injected ``sleep`` and ``clock``. The client is imported for typing only, so that importing
registration does not import :mod:`requests`.

Several processes may register at once (every worker at start-up): after each create the
webhooks are listed again and the create's *twins* (same ``config``, target and events, so
made by the same code) are deleted but the oldest, which every process keeps, so that they
converge on one webhook per hook whatever the interleaving.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._layer import API_VERSION
from ..config._hooks import Hook, as_hooks
from ..errors import LayerAPIError, RegistrationError
from ..receiving._signing import check_secret
from ._plan import Action, plan, registered_events

if TYPE_CHECKING:
    from ..rest._client import LayerClient

__all__ = ["RegistrationReport", "Step", "register_webhooks"]

log = logging.getLogger("layer_webhooks.register")

#: Seconds ``wait_active`` waits for the verification challenge, and between two looks.
WAIT_SECONDS = 10.0
POLL_INTERVAL = 0.2
_SETTLED = ("active", "inactive")


@dataclass(frozen=True)
class Step:
    """One change made on Layer: ``op`` (``"create"``, ``"activate"``, ``"delete"``) of a
    webhook for the hook named ``hook``, and the webhook's ``status`` afterwards (None: deleted).
    ``"keep"``: another process had created the same webhook first; it is kept, in place of
    the one this call created (then deleted).
    """

    hook: str
    op: str
    webhook_id: str
    status: str | None


@dataclass
class RegistrationReport:
    """What :meth:`WebhooksServices.register` planned, did and could not do.

    ``actions`` is the plan (see :class:`Action`), ``steps`` the changes made (none in a dry
    run), ``errors`` one :class:`RegistrationError` per hook that could not be registered as
    asked (a failed request, or a failed verification challenge), ``webhooks`` the last known
    state of each hook's webhook by hook name, and ``out_of_sync`` the names of the hooks whose
    registered event list still differs from the code (re-create them with ``sync=True``).
    ``str(report)`` says all of it in plain words.
    """

    actions: list[Action]
    dry_run: bool = False
    steps: list[Step] = field(default_factory=list)
    errors: list[RegistrationError] = field(default_factory=list)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    out_of_sync: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no error was met and every webhook matches its hook."""
        return not self.errors and not self.out_of_sync

    def __str__(self) -> str:
        head = "Registration plan (dry run, nothing changed):" if self.dry_run else "Registration:"
        lines = [head, *(f"- {action.describe()}" for action in self.actions)]
        lines += [f"- done: {s.op} {s.webhook_id} for {s.hook!r} (status {s.status})" for s in self.steps]
        if self.out_of_sync:
            lines.append(f"- still out of sync (use sync=True to re-create): {', '.join(self.out_of_sync)}")
        lines += [f"- error: {error}" for error in self.errors]
        return "\n".join(lines)


def _age(webhook: Mapping[str, Any]) -> tuple[str, str]:
    # The order every process agrees on: oldest first (Layer's ISO 8601 times sort as text), then by id.
    return str(webhook.get("created_at") or ""), str(webhook.get("id"))


def _is_twin(webhook: Mapping[str, Any], action: Action) -> bool:
    """Whether ``webhook`` is what creating ``action`` makes: the same config, target, events and
    Webhooks version (a webhook of another version is what ``sync=True`` replaces, not a twin)."""
    return (
        webhook.get("config", webhook.get("target_config")) == {"name": action.name}
        and webhook.get("target_url") == action.target_url
        and set(registered_events(webhook)) == set(action.hook.events)
        and webhook.get("version", action.version) == action.version
    )


def _challenge_failed(name: str, webhook: Mapping[str, Any]) -> RegistrationError:
    reason = webhook.get("status_reason")
    target = webhook.get("target_url")
    text = (
        f"the webhook {webhook.get('id')} for {name!r} failed Layer's verification challenge and is inactive"
        f"{f' ({reason})' if reason else ''}: {target} must answer "
        f"GET {target}?verification_challenge=<value> with 200 and the value as its body. Is the receiver "
        "running there, serving this hook's path (services.listen), and reachable from Layer?"
    )
    return RegistrationError(name, text, challenge_failed=True)


class _Executor:
    """Carries out the actions of one registration, recording each step and error in ``report``."""

    def __init__(self, client: LayerClient, report: RegistrationReport, url: str, secret: str, wait: bool) -> None:
        self.client = client
        self.report = report
        self.url = url
        self.secret = secret
        self.wait = wait

    def run(self, action: Action, sync: bool) -> None:
        name = action.name
        if action.kind == "create":
            self.create(action)
        elif action.kind == "activate":
            self.activate(action)
        elif action.kind == "unchanged":
            self.report.webhooks[name] = dict(action.webhook or {})
        elif not sync:
            self.report.out_of_sync.append(name)
            if action.needs_activation:
                self.activate(action)
            else:
                self.report.webhooks[name] = dict(action.webhook or {})
        elif self.create(action) is None:
            # The new webhook did not come up: keep the old one, which may still deliver.
            self.report.out_of_sync.append(name)
        else:
            old = str(action.webhook_id)
            self.attempt(name, "delete the replaced webhook", lambda: self.client.webhooks.delete(old))
            self.report.steps.append(Step(name, "delete", old, None))

    def attempt(self, name: str, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except LayerAPIError as exc:
            raise RegistrationError(name, f"could not {what} for {name!r}: {exc}", cause=exc) from exc

    def create(self, action: Action) -> dict[str, Any] | None:
        body = action.create_body()
        name = action.name
        try:
            webhook = self.client.webhooks.create(**body)
        except LayerAPIError as exc:
            if exc.status != 0:
                raise RegistrationError(name, f"could not create the webhook for {name!r}: {exc}", cause=exc) from exc
            # The request may have reached Layer before the connection broke: look before creating again.
            log.warning("creating the webhook for %r: %s; listing before trying again", name, exc)
            webhook = self.attempt(name, "create the webhook", lambda: self._created(action) or self._create(body))
        own = str(webhook.get("id"))
        kept, deleted = self.converge(action, webhook)
        mine = str(kept.get("id")) == own
        if not mine:  # an older twin is kept: say what became of this call's own create
            self.report.steps.append(Step(name, "create", own, None if own in deleted else str(webhook.get("status"))))
        self.report.steps.extend(Step(name, "delete", twin, None) for twin in deleted)
        return self.settle(name, "create" if mine else "keep", kept, action)

    def converge(self, action: Action, created: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
        """List Layer's webhooks again and delete the twins of ``created`` but the oldest; return
        the webhook kept and the ids deleted (a twin another process deleted first counts as gone).

        :raises LayerAPIError: 404 when no twin is left at all (``created`` is None: it was deleted).
        """
        try:
            twins = [dict(w) for w in self.client.webhooks.list() if _is_twin(w, action)]
        except LayerAPIError as exc:
            log.warning("could not list the webhooks again for %r, twins are not looked for: %s", action.name, exc)
            twins = []
        if created is not None and all(w.get("id") != created.get("id") for w in twins):
            twins.append(dict(created))  # not listed yet
        if not twins:
            raise LayerAPIError(404, message=f"the webhook for {action.name!r} was deleted", request="GET /webhooks")
        kept, *extra = sorted(twins, key=_age)
        deleted = []
        for twin in extra:
            twin_id = str(twin.get("id"))
            try:
                self.client.webhooks.delete(twin_id)
            except LayerAPIError as exc:
                if exc.status != 404:
                    log.warning(
                        "could not delete %s, a twin of %s for %r: %s", twin_id, kept.get("id"), action.name, exc
                    )
                    continue
            log.info(
                "deleted %s, a twin of %s for %r (registered by another process too)",
                twin_id,
                kept.get("id"),
                action.name,
            )
            deleted.append(twin_id)
        return kept, deleted

    def _created(self, action: Action) -> dict[str, Any] | None:
        again = plan(self.client.webhooks.list(), [action.hook], self.url, self.secret, version=action.version)[0]
        return dict(again.webhook) if again.webhook is not None and again.kind in ("activate", "unchanged") else None

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.client.webhooks.create(**body)

    def activate(self, action: Action) -> dict[str, Any] | None:
        webhook_id = str(action.webhook_id)
        webhook = self.attempt(action.name, "activate", lambda: self.client.webhooks.activate(webhook_id))
        return self.settle(action.name, "activate", webhook, action)

    def settle(self, name: str, op: str, webhook: dict[str, Any], action: Action) -> dict[str, Any] | None:
        """Record a created or activated webhook, after waiting for its challenge if asked;
        None when it is not (or not known to be) verified."""
        webhook_id = str(webhook.get("id"))
        log.info("%s webhook %s for %r: %s", op, webhook_id, name, webhook.get("status"))
        error = None
        if self.wait:
            try:
                webhook = self._wait(webhook, action)
                webhook_id = str(webhook.get("id"))
            except LayerAPIError as exc:
                error = RegistrationError(
                    name, f"could not read the status of {webhook_id} for {name!r}: {exc}", cause=exc
                )
        self.report.webhooks[name] = webhook
        status = webhook.get("status")
        self.report.steps.append(Step(name, op, webhook_id, None if status is None else str(status)))
        if error is None and status == "inactive":
            error = _challenge_failed(name, webhook)
        elif error is None and self.wait and status != "active":
            error = RegistrationError(
                name, f"the webhook {webhook_id} for {name!r} is still {status} after {WAIT_SECONDS:g} s"
            )
        if error is None:
            return webhook
        log.error("%s", error)
        self.report.errors.append(error)
        return None

    def _wait(self, webhook: dict[str, Any], action: Action) -> dict[str, Any]:
        client = self.client
        deadline = client.clock() + WAIT_SECONDS
        # Bounded in count too, so that a clock that does not move cannot spin forever.
        for _ in range(math.ceil(WAIT_SECONDS / POLL_INTERVAL)):
            remaining = deadline - client.clock()
            if webhook.get("status") in _SETTLED or remaining <= 0:
                break
            client.sleep(min(POLL_INTERVAL, remaining))
            try:
                webhook = client.webhooks.get(str(webhook.get("id")))
            except LayerAPIError as exc:
                if exc.status != 404 or not _is_twin(webhook, action):
                    raise
                # Deleted as the twin of an older one that another process registered: wait on that one.
                webhook, deleted = self.converge(action, None)
                self.report.steps.extend(Step(action.name, "delete", twin, None) for twin in deleted)
        return webhook


def register_webhooks(
    client: LayerClient,
    secret: str,
    url: str,
    hooks: Iterable[Hook | Mapping[str, Any]],
    *,
    dry_run: bool = False,
    sync: bool = False,
    wait_active: bool = False,
    version: str = API_VERSION,
) -> RegistrationReport:
    """Make Layer's webhooks match ``hooks``; see :meth:`WebhooksServices.register`."""
    hooks = as_hooks(hooks)
    check_secret("secret", secret)
    plan([], hooks, url, secret, version=version)  # a configuration error is raised before any request
    actions = plan(client.webhooks.list(), hooks, url, secret, version=version)
    report = RegistrationReport(actions, dry_run=dry_run)
    if dry_run:
        report.out_of_sync = [a.name for a in actions if a.kind == "out-of-sync"]
        return report
    executor = _Executor(client, report, url, secret, wait_active)
    for action in actions:
        try:
            executor.run(action, sync)
        except RegistrationError as error:
            log.error("%s", error)
            report.errors.append(error)
    return report
