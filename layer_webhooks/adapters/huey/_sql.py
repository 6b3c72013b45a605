"""The SQL of :class:`~._ledger_sql.SqlLedger`, every statement in one place.

Tables, each keyed by huey's name (``queue``) so that several hueys may share a file:

- ``layer_webhooks_job``: the jobs waiting or running. ``record`` (JSON name and data),
  ``attempt``, ``message`` (huey's message for that attempt, pushed again on a requeue),
  ``owner`` (the worker running it; null while it waits), ``deadline`` (ready time + lease:
  when a waiting job's message is presumed lost; it orders :meth:`pending`).
- ``layer_webhooks_dead``: the dead jobs: ``record``, ``attempt``, ``error``, ``failed_at``.
- ``layer_webhooks_worker``: each worker's last ``beat``; a worker silent for a lease, or
  without a row, is not alive.
- ``task``: huey's own queue (SqliteHuey), into which :data:`PUSH` writes messages the way
  ``SqliteStorage.enqueue`` does; huey takes the highest ``priority`` first, then the oldest.

Parameters are positional (``?``), in the order each statement names them.
"""

from __future__ import annotations

DDL = (
    "create table if not exists layer_webhooks_job (queue text not null, id text not null,"
    " record text not null, attempt integer not null, message blob not null, owner text,"
    " deadline real not null, primary key (queue, id))",
    "create index if not exists layer_webhooks_job_deadline on layer_webhooks_job (queue, deadline)",
    "create table if not exists layer_webhooks_dead (queue text not null, id text not null,"
    " record text not null, attempt integer not null, error text not null, failed_at real not null,"
    " primary key (queue, id))",
    "create table if not exists layer_webhooks_worker (queue text not null, worker text not null,"
    " beat real not null, primary key (queue, worker))",
)

# (queue, id, record, message, deadline): a job waiting at attempt 1; ignored if the id is pending.
ADD = (
    "insert or ignore into layer_webhooks_job (queue, id, record, attempt, message, owner, deadline)"
    " values (?, ?, ?, 1, ?, null, ?)"
)
# (queue, worker, now)
BEAT = "insert or replace into layer_webhooks_worker (queue, worker, beat) values (?, ?, ?)"
# (queue, id) -> record, attempt, owner, the owner's last beat (null: no such worker)
JOB = (
    "select j.record, j.attempt, j.owner, w.beat from layer_webhooks_job j left join layer_webhooks_worker w"
    " on w.queue = j.queue and w.worker = j.owner where j.queue = ? and j.id = ?"
)
# (worker, queue, id)
CLAIM = "update layer_webhooks_job set owner = ? where queue = ? and id = ?"
# (queue, id)
FINISH = "delete from layer_webhooks_job where queue = ? and id = ?"
# (queue, id, worker) -> record, attempt, message of a job that worker runs
HELD = "select record, attempt, message from layer_webhooks_job where queue = ? and id = ? and owner = ?"
# (attempt, message, deadline, queue, id)
RETRY = "update layer_webhooks_job set attempt = ?, message = ?, owner = null, deadline = ? where queue = ? and id = ?"
# (queue, id, record, attempt, error, failed_at)
BURY = (
    "insert or replace into layer_webhooks_dead (queue, id, record, attempt, error, failed_at)"
    " values (?, ?, ?, ?, ?, ?)"
)
# (deadline, queue, id)
REQUEUE = "update layer_webhooks_job set owner = null, deadline = ? where queue = ? and id = ?"
# (lease, now, queue, limit) -> id, message of jobs whose worker is silent for a lease
ABANDONED = (
    "select j.id, j.message from layer_webhooks_job j left join layer_webhooks_worker w"
    " on w.queue = j.queue and w.worker = j.owner"
    " where j.owner is not null and (w.beat is null or w.beat + ? <= ?) and j.queue = ? limit ?"
)
# (queue, now, limit) -> id, message of waiting jobs ready for longer than a lease
LOST = (
    "select id, message from layer_webhooks_job where queue = ? and owner is null and deadline <= ?"
    " order by deadline limit ?"
)
# (queue, lease, now)
FORGET_WORKERS = "delete from layer_webhooks_worker where queue = ? and beat + ? <= ?"
# (queue) -> id, record, attempt
PENDING = "select id, record, attempt from layer_webhooks_job where queue = ? order by deadline"
# (queue) -> id, record, attempt, error, failed_at
DEAD = "select id, record, attempt, error, failed_at from layer_webhooks_dead where queue = ? order by failed_at, rowid"
# (queue, id) -> record
DEAD_RECORD = "select record from layer_webhooks_dead where queue = ? and id = ?"
# (queue, id)
DISCARD = "delete from layer_webhooks_dead where queue = ? and id = ?"
# (queue, message, priority): huey's SqliteStorage.enqueue
PUSH = "insert into task (queue, data, priority) values (?, ?, ?)"
# (queue) -> a row when huey's queue holds a message
BUSY = "select 1 from task where queue = ? limit 1"
