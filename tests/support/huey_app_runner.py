"""Real ``huey_consumer`` processes running tests/huey_app.py, and the notes they write.

Every wait is bounded; :meth:`Consumers.stop_all` (called by the fixtures that make a
``Consumers``) kills whatever still runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import layer_webhooks

TESTS = Path(__file__).resolve().parent
# The consumers import the very package this test session imports.
PACKAGE_ROOT = Path(layer_webhooks.__file__).resolve().parents[1]

Notes = list[dict[str, Any]]


class Consumers:
    """Starts consumers of one huey app (``backend``, ``target``, ``name``) and reads their notes."""

    def __init__(self, directory: Path, backend: str, target: str, name: str, lease: float) -> None:
        self.directory = directory
        self.notes_path = directory / "notes.jsonl"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(TESTS), str(PACKAGE_ROOT)]),
            "LW_BACKEND": backend,
            "LW_TARGET": target,
            "LW_NAME": name,
            "LW_LEASE": str(lease),
            "LW_NOTES": str(self.notes_path),
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *flags: str, workers: int = 1, timeout: float = 20.0) -> subprocess.Popen[bytes]:
        """Start ``huey_consumer huey_app.huey -w workers -k thread *flags``; return once it is ready."""
        process = self.spawn(*flags, workers=workers)
        self.ready(process, timeout)
        return process

    def start_all(self, count: int, *flags: str, timeout: float = 20.0) -> list[subprocess.Popen[bytes]]:
        """Start ``count`` consumers at once (each as :meth:`start`); return once all are ready."""
        processes = [self.spawn(*flags) for _ in range(count)]
        for process in processes:
            self.ready(process, timeout)
        return processes

    def spawn(self, *flags: str, workers: int = 1) -> subprocess.Popen[bytes]:
        """Start a consumer (as :meth:`start`) without waiting for it to be ready."""
        index = len(self.processes)
        command = [
            sys.executable, "-m", "huey.bin.huey_consumer", "huey_app.huey",
            "-w", str(workers), "-k", "thread", "-d", "0.05", "-m", "0.1", *flags,
        ]  # fmt: skip
        with open(self.directory / f"consumer-{index}.log", "wb") as log:
            process = subprocess.Popen(
                command, env=self.env, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(process)
        return process

    def ready(self, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
        """Wait until ``process`` (or one of its worker processes) has noted that it is ready."""
        pid = process.pid
        self.wait_for(lambda notes: any(n["step"] == "ready" and pid in (n["pid"], n["ppid"]) for n in notes), timeout)

    def notes(self, step: str | None = None) -> Notes:
        """Every line the consumers wrote so far (only ``step``'s, if given)."""
        if not self.notes_path.exists():
            return []
        lines = [json.loads(line) for line in self.notes_path.read_text().splitlines() if line.strip()]
        return [n for n in lines if step is None or n["step"] == step]

    def wait_for(self, done: Callable[[Notes], bool], timeout: float) -> Notes:
        """Poll the notes until ``done(notes)``; fail with the consumers' logs after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            notes = self.notes()
            if done(notes):
                return notes
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s; notes: {notes}\n{self.logs()}")
            time.sleep(0.05)

    def ended(self, *job_ids: str, timeout: float = 20.0) -> Notes:
        """Wait until each of ``job_ids`` has an ``end`` note; return all notes."""
        wanted = set(job_ids)
        return self.wait_for(lambda notes: wanted <= {n["id"] for n in notes if n["step"] == "end"}, timeout)

    def logs(self) -> str:
        """The consumers' output (for failure messages)."""
        parts = []
        for path in sorted(self.directory.glob("consumer-*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def signal(self, process: subprocess.Popen[bytes], signum: int, timeout: float = 15.0) -> int:
        """Send ``signum`` and wait (bounded) for the process to exit; return its exit code."""
        process.send_signal(signum)
        return process.wait(timeout)

    def stop_all(self) -> None:
        """Kill every consumer still running, with its worker processes (each has its own session)."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def steps(notes: Notes, step: str, job_id: str) -> Notes:
    """The notes of ``step`` for ``job_id``, in order."""
    return [n for n in notes if n["step"] == step and n.get("id") == job_id]
