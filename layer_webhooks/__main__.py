"""``python -m layer_webhooks``: the ``layer-webhooks`` command line."""

from __future__ import annotations

# Absolute, so that this file also runs as a script (huey's consumer re-executes sys.argv on SIGHUP).
from layer_webhooks.cli import main

raise SystemExit(main())
