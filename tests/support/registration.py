"""What the registration tests share: the emulator's token and app, the secret, the hooks."""

from __future__ import annotations

from layer_webhooks import Hook

__all__ = ["APP", "HOOKS", "SECRET", "TOKEN"]

TOKEN = "emulator-token-5b4a3c2d1e"
APP = "7c1c7ac2-5c2f-11e5-9d70-feff819cdc9f"
SECRET = "register secret"
HOOKS = [
    Hook("Webhook Example", "/new-message", ["message.sent"]),
    Hook("Conversations", "conversations", ["conversation.created", "conversation.deleted"]),
]
