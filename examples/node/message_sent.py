"""Die-bot and Food-bot: answer "die N" with N dice rolled, and any "eat" with an opinion."""

from __future__ import annotations

import random
import re

from layer_webhooks import Hook, Job, WebhooksServices

HOOK = Hook("message-sent", "/message-sent", events=["message.sent"])
MAX_DICE = 20
DIE = re.compile(r"\bdie (\d+)\b", re.IGNORECASE)
EAT_MY = re.compile(r"\beat my (\w+)", re.IGNORECASE)
EAT = re.compile(r"\beat\b", re.IGNORECASE)
FOOD_LINES = ("Yum! Got any for me?", "I only ever have electrons for lunch.", "Cake is the answer. Always.")


def listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def answers(text: str, rng: random.Random) -> list[tuple[str, str]]:
    """The bots' replies to ``text``: ``(bot name, reply)`` pairs."""
    replies = []
    die = DIE.search(text)
    if die and int(die[1]) > MAX_DICE:
        replies.append(("Die-bot", f"I only have {MAX_DICE} dice: I will not roll {int(die[1])}"))
    elif die and int(die[1]) > 0:
        rolls = [str(rng.randint(1, 6)) for _ in range(int(die[1]))]
        replies.append(("Die-bot", f"Rolled a {listed(rolls)}"))
    eat_my = EAT_MY.search(text)
    if eat_my:
        replies.append(("Food-bot", f"My {eat_my[1]} taste a lot better than yours"))
    elif EAT.search(text):
        replies.append(("Food-bot", rng.choice(FOOD_LINES)))
    return replies


def setup(services: WebhooksServices, rng: random.Random | None = None) -> None:
    dice = rng or random.Random()

    @services.process(HOOK.name)
    def bots(job: Job) -> None:
        message = job.data["message"]
        text = " ".join(part.get("body", "") for part in message["parts"] if part.get("mime_type") == "text/plain")
        for bot, reply in answers(text, dice):
            services.client.messages.send_text(message["conversation"], {"name": bot}, reply)
