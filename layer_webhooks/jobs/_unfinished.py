"""Per thread, the jobs whose run succeeded and whose finish rides on that thread's next claim.

A consumer thread that drains a queue finishes each job in the script call that claims the
next one (one round trip per job instead of two). What a thread holds this way when it goes
idle is taken by an idle flush: each look marks what it sees, the next look takes what is
still there, so a finish waits two looks at most. Every list is swapped out under one lock:
each job is finished by exactly one caller.
"""

from __future__ import annotations

import os
import threading

__all__ = ["Unfinished"]


class _Entry:
    __slots__ = ("ids", "seen", "thread")

    def __init__(self, thread: threading.Thread) -> None:
        self.ids: list[str] = []
        self.seen = False
        self.thread = thread


class Unfinished:
    """The finishes that wait, per thread that opted in with :meth:`defer_here`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._entries: list[_Entry] = []
        self._pid = 0

    def defer_here(self) -> bool:
        """From now on, the calling thread's finishes wait for its next claim; True the first
        time in this process."""
        if getattr(self._local, "entry", None) is not None:
            return False
        entry = self._local.entry = _Entry(threading.current_thread())
        with self._lock:
            first, self._pid = self._pid != os.getpid(), os.getpid()
            self._entries.append(entry)
        return first

    def take(self) -> list[str] | None:
        """This thread's waiting finishes, now the caller's to send; None: this thread does not defer."""
        entry: _Entry | None = getattr(self._local, "entry", None)
        if entry is None:
            return None
        with self._lock:
            ids, entry.ids, entry.seen = entry.ids, [], False
        return ids

    def deferring(self) -> bool:
        """Whether the calling thread defers its finishes."""
        return getattr(self._local, "entry", None) is not None

    def holding(self) -> bool:
        """Whether the calling thread has finishes waiting."""
        entry: _Entry | None = getattr(self._local, "entry", None)
        return entry is not None and bool(entry.ids)

    def peek_all(self) -> list[str]:
        """Every thread's waiting finishes, left where they are."""
        with self._lock:
            return [job_id for entry in self._entries for job_id in entry.ids]

    def add(self, job_id: str) -> None:
        """Let ``job_id``'s finish wait for this thread's next claim (a thread that defers)."""
        entry: _Entry = self._local.entry
        with self._lock:
            entry.ids.append(job_id)

    def take_all(self, *, idle: bool = False) -> list[str]:
        """Every thread's waiting finishes (``idle``: only those there at the previous idle look)."""
        taken: list[str] = []
        with self._lock:
            for entry in self._entries:
                if entry.ids and (entry.seen or not idle):
                    taken += entry.ids
                    entry.ids, entry.seen = [], False
                elif entry.ids:
                    entry.seen = True
            self._entries = [entry for entry in self._entries if entry.ids or entry.thread.is_alive()]
        return taken
