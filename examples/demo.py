"""The whole library end to end, on embedded defaults: nothing to start by hand.

The demo is the command ``layer-webhooks demo`` (``python -m layer_webhooks demo``); see
``layer_webhooks/cli/_demo.py`` for what it starts and plays. This script runs it:

    python examples/demo.py
"""

from __future__ import annotations

import sys

from layer_webhooks.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo"]))
