"""The ``layer-webhooks`` command, run as a subprocess (``python -m layer_webhooks``), and the
user's module it is pointed at.

::

    from support.commands import cli, write_tasks

    module = write_tasks(tmp_path)                        # tasks_<hex>.py: SQLite huey, a failing handler
    result = cli("jobs", "dead", f"{module}:queue", cwd=tmp_path)
    assert result.returncode == 0, result.stderr

Every call is bounded in time; :func:`spawn` gives a running process whose lines are read with
:func:`line_with`, and which :func:`stop` always ends.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import layer_webhooks

# The subprocesses import the very package this test session imports.
PACKAGE_ROOT = Path(layer_webhooks.__file__).resolve().parents[1]

TASKS = '''
"""A user's module: services on a SQLite huey queue, a receiver, a handler that fails."""
import os
from pathlib import Path

from huey import SqliteHuey

from layer_webhooks import Hook, WebhooksServices
from layer_webhooks.adapters.huey import HueyQueue

HERE = Path(__file__).resolve().parent
huey = SqliteHuey("cli-tests", filename=str(HERE / "queue.db"))
queue = HueyQueue(huey, lease=5)
services = WebhooksServices(queue=queue)
receiver = services.listen("cli secret", [Hook("Webhook Example", "/hook", ["message.sent"])])


@services.process("Webhook Example", attempts=1)
def fail(job):
    if (HERE / "fix").exists():
        with open(HERE / "ran.txt", "a") as notes:
            notes.write(job.id + "\\n")
        return
    raise RuntimeError("planned failure of " + job.id)
'''

MEMORY = '''
"""A user's module: services on a MemoryQueue; the handler prints each job it runs."""
from layer_webhooks import Hook, MemoryQueue, WebhooksServices

services = WebhooksServices(queue=MemoryQueue())
receiver = services.listen("cli secret", [Hook("Webhook Example", "/hook", ["message.sent"])])


@services.process("Webhook Example")
def show(job):
    print("ran", job.id, job.data["message"]["parts"][0]["body"], flush=True)
'''

#: The secret of the receivers in those modules.
SECRET = "cli secret"


def env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a subprocess: this package first on its path, no Layer settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LAYER_", "COV_"))}
    path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), base.get("PYTHONPATH", "")) if p)
    return {**base, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **(extra or {})}


def _python() -> list[str]:
    """The interpreter, under ``coverage run`` when this session measures coverage (pytest-cov):
    the subprocess then writes its data beside the session's, which pytest-cov combines at the
    end, so that the commands run as subprocesses count in the coverage gate."""
    try:
        import coverage
    except ImportError:  # pragma: no cover - an env without pytest-cov
        return [sys.executable]
    current = coverage.Coverage.current()
    if current is None:
        return [sys.executable]
    measure = ["--parallel-mode", f"--data-file={current.get_data().base_filename()}", "--source=layer_webhooks"]
    if current.config.branch:
        measure.append("--branch")
    return [sys.executable, "-m", "coverage", "run", *measure]


def cli(
    *args: str, cwd: Path, extra_env: Mapping[str, str] | None = None, timeout: float = 30.0, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m layer_webhooks *args`` to its end (at most ``timeout`` seconds)."""
    command = [*_python(), "-m", "layer_webhooks", *args]
    return subprocess.run(
        command, cwd=cwd, env=env(extra_env), capture_output=True, text=True, timeout=timeout, input=stdin
    )


class Running:
    """A running command; its output lines are collected by a thread as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))

    def line_with(self, match: Callable[[str], bool] | str, timeout: float = 20.0) -> str:
        """The first new output line that ``match`` accepts (or contains it, for a string)."""
        test = (lambda line: match in line) if isinstance(match, str) else match
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {match!r} within {timeout} s; got {self.lines}") from None
            self.lines.append(line)
            if test(line):
                return line

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send ``signum``, wait (bounded) for the exit, kill if need be; return the exit code."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signum)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(10)
                    raise AssertionError(f"still running {timeout} s after signal {signum}: {self.lines}") from None
            return self.process.returncode
        finally:
            self._reader.join(5)
            if self.process.stdout is not None:
                self.process.stdout.close()

    def rest(self) -> list[str]:
        """Every line read so far, and those still waiting to be read."""
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return self.lines


def spawn(*args: str, cwd: Path, extra_env: Mapping[str, str] | None = None) -> Running:
    """Start ``python -m layer_webhooks *args`` (stderr into stdout); :meth:`Running.stop` it."""
    process = subprocess.Popen(
        [*_python(), "-m", "layer_webhooks", *args],
        cwd=cwd,
        env=env(extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return Running(process)


def write_module(directory: Path, source: str, prefix: str = "tasks") -> str:
    """Write ``source`` as a module of a fresh name in ``directory``; return the name."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    (directory / f"{name}.py").write_text(source)
    return name


def write_tasks(directory: Path) -> str:
    """The SQLite huey module (:data:`TASKS`) in ``directory``; return its module name."""
    return write_module(directory, TASKS)


def import_file(directory: Path, name: str) -> ModuleType:
    """Import the module ``name`` written in ``directory`` into this process."""
    spec = importlib.util.spec_from_file_location(name, directory / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def bury(module: Any, job_id: str) -> None:
    """Queue a job on the module's queue and run it once here: its handler fails, it is dead."""
    module.queue.enqueue("Webhook Example", {"n": 1}, job_id=job_id)
    task = module.huey.dequeue()
    module.huey.execute(task)
    assert job_id in [d.job.id for d in module.queue.dead_letters()]
