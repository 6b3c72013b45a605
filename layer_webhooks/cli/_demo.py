"""``layer-webhooks demo``: the whole library end to end on embedded defaults, told step by step.

All in this process, on 127.0.0.1 and a temporary directory: Layer's emulator; a web service
with a ``listen`` and a ``receipts`` receiver behind the WSGI middleware on werkzeug; a
``HueyQueue`` on ``SqliteHuey`` with huey's consumer threads; receipts state in a
``SqliteStore``. The service registers both webhooks (each answers Layer's challenge), then a
scripted conversation plays: messages sent, delivered, read, one deleted, a bot's reply that
the guard skips, and the receipts report on the message Carol has not read.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from ._common import EXIT_FAILED, EXIT_OK, need, show
from ._demo_story import Jobs, Narrator, Watch, read_next, summary, wait_for
from ._serve import start_consumer

NAME = "demo"
TOKEN, SECRET = "demo token", "demo webhook secret"
#: Seconds after a message is sent at which its receipts are checked.
DELAY = 3.0
WORKERS = 2


def add_to(commands: Any) -> None:
    """Add the command to the ``layer-webhooks`` parser's sub-commands."""
    parser: argparse.ArgumentParser = commands.add_parser(
        NAME,
        help="run the whole library end to end on this machine, telling each step (about 10 s)",
        description=(
            "Start Layer's emulator, a web service with two webhooks (a listen hook and a receipts "
            "hook) on 127.0.0.1, a SQLite-backed huey queue and its consumer threads, register the "
            "webhooks, play a short conversation and tell each step: the challenges, each delivery "
            "and its answer, each job run, the receipts report, a summary. Nothing to start by hand, "
            "no network beyond loopback. Needs the wsgi and huey extras: "
            "python3 -m pip install 'layer-webhooks[all]'."
        ),
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo in a temporary directory; 0 once the report came and every job ran."""
    need("werkzeug", NAME)
    need("huey", NAME)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log: the demo tells each request
    logging.getLogger("layer_webhooks.testing").setLevel(logging.ERROR)  # http:// targets are fine here
    with tempfile.TemporaryDirectory(prefix="layer-demo-") as tmp:
        return Demo(Path(tmp)).run()


class Demo:
    """The demo's parts, started in :meth:`run` and always stopped."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.narrator = Narrator()
        self.jobs = Jobs(self.narrator, DELAY)

    def run(self) -> int:
        """Start everything, play the story, stop everything."""
        from huey import SqliteHuey
        from werkzeug.serving import make_server

        from .. import Hook, Receipts, WebhooksServices
        from ..adapters.huey import HueyQueue
        from ..adapters.sqlite import SqliteStore
        from ..adapters.wsgi import WebhookMiddleware
        from ..testing import LayerEmulator

        say = self.narrator.say
        show("layer-webhooks demo: Layer, your web service and its queue, all on this machine")
        huey = SqliteHuey("layer-demo", filename=str(self.directory / "queue.db"))
        queue = HueyQueue(huey, lease=10)
        self.jobs.watch(queue)
        store = SqliteStore(self.directory / "state.db")
        hooks = [
            Hook("New Message", "/new-message", events=["message.sent"]),
            Hook(
                "Unread",
                "/unread",
                events=["message.sent", "message.delivered", "message.read", "message.deleted"],
                receipts=Receipts(delay=f"{DELAY:g} sec", report_for_status=["sent", "delivered"], identities=True),
            ),
        ]
        with LayerEmulator(token=TOKEN) as layer:
            services = WebhooksServices(TOKEN, layer.app_id, base_url=layer.base_url, queue=queue, store=store)
            listen = services.listen(SECRET, hooks[:1])
            # The guard against bot loops, on both hooks: a service's messages make no job.
            receipts = services.receipts(SECRET, hooks[1:], skip_service_senders=True)
            services.process("New Message")(lambda job: None)
            services.process("Unread", backoff=1.0)(lambda job: None)
            watch = Watch(WebhookMiddleware(WebhookMiddleware(None, receipts), listen), say)
            server = make_server("127.0.0.1", 0, watch, threaded=True)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            thread.start()
            consumer = start_consumer(huey, WORKERS)
            try:
                url = f"http://127.0.0.1:{server.server_port}"
                self.narrator.step(f"Starting, on 127.0.0.1 (files in {self.directory})")
                say(f"Layer (its emulator): {layer.base_url}")
                say(f"your web service: {url}, hooks /new-message ('New Message': message.sent) and")
                say(f"  /unread ('Unread': a receipts report {DELAY:g} s after each message, if not read)")
                say(f"the queue: huey on SQLite, {WORKERS} consumer threads here; receipts state in SQLite")
                return self.story(layer, services, url, watch)
            finally:
                consumer.stop(graceful=True)
                server.shutdown()
                server.server_close()
                thread.join(5)
                queue.close()
                store.close()

    def story(self, layer: Any, services: Any, url: str, watch: Watch) -> int:
        """Register, converse, wait for the report and the last jobs, then sum up."""
        say, step = self.narrator.say, self.narrator.step
        step("Registering both webhooks through Layer's REST API; Layer checks each with a challenge")
        report = services.register(
            SECRET, url, [hook for r in services.receivers for hook in r.hooks], wait_active=True
        )
        for line in str(report).splitlines()[1:]:
            say(line.removeprefix("- "))
        if not report.ok:
            say("registration failed: see the errors above")
            return EXIT_FAILED
        step("A conversation: Alice, Bob and Carol (each event reaches the hooks that take it)")
        layer.set_identity("alice", display_name="Alice")
        layer.set_identity("bob", display_name="Bob")
        layer.set_identity("carol", display_name="Carol")
        conversation = layer.create_conversation(["alice", "bob", "carol"])
        say("Alice sends 'Lunch at noon?'")
        lunch = layer.send_message(conversation, "alice", "Lunch at noon?")
        say("Bob's phone receives it, and Bob reads it")
        layer.mark(lunch, "bob", "delivered")
        layer.mark(lunch, "bob", "read")
        say("Carol's phone receives it; Carol does not read it")
        layer.mark(lunch, "carol", "delivered")
        say("Bob sends 'Oops, wrong chat' and deletes it")
        oops = layer.send_message(conversation, "bob", "Oops, wrong chat")
        layer.delete_message(oops)
        say("Lunch Bot, a service, replies 'Table booked for three.'")
        bot = layer.send_message(conversation, {"name": "Lunch Bot"}, "Table booked for three.")
        step(f"Waiting for the receipts check, {DELAY:g} s after each message")
        if not self.jobs.reported.wait(DELAY + 20):
            say("no receipts report within the time allowed")
            return EXIT_FAILED
        if not wait_for(lambda: not services.queue.pending(), 15):
            say(f"jobs still pending: {[job.name for job in services.queue.pending()]}")
            return EXIT_FAILED
        skipped = [] if bot["id"] in self.jobs.listened else ["Table booked for three."]
        if skipped:
            say("the bot's reply made no job: the guard (skip_service_senders) skips messages sent by")
            say("  services, so that a bot answering messages never answers itself")
        reported = {text for _, text in self.jobs.reports}
        deleted = [] if "Oops, wrong chat" in reported else ["Oops, wrong chat"]
        step("Summary")
        summary(say, watch, self.jobs, layer.deliveries, skipped, deleted)
        read_next()
        return EXIT_OK if reported == {"Lunch at noon?"} and skipped and deleted else EXIT_FAILED
