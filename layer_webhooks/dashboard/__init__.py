"""The operator's page: Layer's webhooks and their status, pending and dead jobs with their
errors, replay and discard buttons, and the last deliveries received with their answers.

An ASGI app (Starlette, the ``asgi`` extra) to mount in your app, or to serve alone with
``layer-webhooks dashboard MODULE:OBJECT`` (on 127.0.0.1 by default)::

    from layer_webhooks.dashboard import Dashboard

    app.mount("/layer-dashboard", Dashboard(services, token=os.environ["LAYER_DASHBOARD_TOKEN"]))

Server-rendered HTML, no script. See docs/cli.md.
"""

from __future__ import annotations

from ._app import Dashboard

__all__ = ["Dashboard"]
