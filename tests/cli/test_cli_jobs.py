"""``layer-webhooks jobs`` against a SQLite huey queue whose handler fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.commands import bury, cli, import_file, write_tasks

from layer_webhooks.cli import main

pytest.importorskip("huey")


@pytest.mark.slow
def test_jobs_of_a_sqlite_queue(tmp_path: Path) -> None:
    name = write_tasks(tmp_path)
    tasks = import_file(tmp_path, name)
    try:
        bury(tasks, "job-1")
        bury(tasks, "job-2")

        def run(*args: str, code: int = 0) -> str:
            result = cli("jobs", *args, cwd=tmp_path)
            assert result.returncode == code, result.stdout + result.stderr
            return result.stdout

        dead = run("dead", f"{name}:queue").splitlines()
        assert dead[0].split() == ["ID", "NAME", "ATTEMPT", "FAILED", "ERROR"]
        assert dead[1].startswith("job-1  Webhook Example  1 ")
        assert dead[1].endswith("RuntimeError('planned failure of job-1')")
        assert dead[2].startswith("job-2  Webhook Example  1 ")
        assert run("replay", f"{name}:queue", "job-1") == "replayed job-1: it runs again from attempt 1\n"
        assert run("discard", f"{name}:services", "job-2") == "discarded job-2\n"
        assert [job.id for job in tasks.queue.pending()] == ["job-1"]
        assert tasks.queue.dead_letters() == []
    finally:
        tasks.queue.close()


def test_jobs_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = write_tasks(tmp_path)
    tasks = import_file(tmp_path, name)
    try:
        bury(tasks, "job-1")
        tasks.queue.enqueue("Webhook Example", {"n": 2}, job_id="job-2")
        assert main(["jobs", "pending", f"{name}:queue", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == [{"id": "job-2", "name": "Webhook Example", "attempt": 1}]
        assert main(["jobs", "dead", f"{name}:services", "--json"]) == 0
        (dead,) = json.loads(capsys.readouterr().out)
        assert (dead["id"], dead["error"]) == ("job-1", "RuntimeError('planned failure of job-1')")
        assert main(["jobs", "replay", f"{name}:queue", "job-1", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {"id": "job-1", "action": "replay", "done": True}
        bury_again = tasks.huey.dequeue()  # job-2's message: it fails, and is dead
        tasks.huey.execute(bury_again)
        assert main(["jobs", "discard", f"{name}:queue", "nothing"]) == 1
        assert capsys.readouterr().out == "not discarded: no dead job has that id\n"
        tasks.queue.enqueue("Webhook Example", {"n": 2}, job_id="job-2")  # pending again, under the dead one's id
        assert main(["jobs", "replay", f"{name}:queue", "job-2"]) == 1
        assert capsys.readouterr().out == "not replayed: a job with that id is pending\n"
    finally:
        tasks.queue.close()
