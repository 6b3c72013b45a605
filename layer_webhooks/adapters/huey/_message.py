"""Huey's message for a job's run without a pickle per job: the same bytes, spliced.

A message is huey's ``Message`` (a namedtuple) pickled by its ``Serializer``. For a run with no
delay, only two of its values change from job to job: the id (the message's id and the task's
first argument, pickled once and referenced by memo) and the attempt. So the message of a probe
is pickled once, cut around those two values, and each message is the pieces joined around the
job's own id and attempt, encoded with the opcodes pickle itself picks for them
(``SHORT_BINUNICODE`` or ``BINUNICODE``, ``BININT1`` or ``BININT2``), under one ``FRAME`` of the
new length. The template is used only when huey pickles plainly (its own ``Serializer``, no
compression) and when it gives, for check values, exactly the bytes ``serialize_task`` gives;
anything else (a delay, a custom or compressing serializer, an odd id) is pickled by huey.
"""

from __future__ import annotations

import pickletools
from collections.abc import Callable
from typing import Any

from huey import Huey
from huey.registry import Registry
from huey.serializer import Serializer

# The probe's values: the id and the attempt to find (each must occur once in its message).
_PROBE = ("layer-webhooks:probe-id", 201)
# Check values: a long non-ASCII id (BINUNICODE, 2-byte UTF-8) and an attempt over 255 (BININT2).
_CHECKS = (("\u00e9\u00e8" * 150, 7), ("j" * 255, 300), ("x", 1))
# Longer ids are left to huey: the whole message stays one frame (pickle's frames are 64 KiB).
_LONGEST_ID = 4096
_FRAME_AT = 2  # PROTO takes two bytes; FRAME (one byte and an 8-byte length) follows

Pickled = Callable[[str, int, float], bytes]

# The opcodes (and their arguments) of the ids and attempts most messages carry, made once.
_SHORT_TEXT = [b"\x8c" + bytes((size,)) for size in range(256)]  # SHORT_BINUNICODE of `size` bytes
_SMALL_NUMBER = [b"K" + bytes((number,)) for number in range(256)]  # BININT1

#: A template's fixed bytes: head (before the frame's length), before the id, between the id and
#: the attempt, after the attempt. ``take.lua`` reads messages by them.
Shape = tuple[bytes, bytes, bytes, bytes]


class _Template:
    def __init__(self, head: bytes, before: bytes, between: bytes, after: bytes) -> None:
        self._head, self._before, self._between, self._after = head, before, between, after
        self._fixed = len(before) + len(between) + len(after)  # the frame's bytes but the id's and attempt's

    def fill(self, job_id: str, attempt: int) -> bytes | None:
        """The message for ``job_id`` at ``attempt``; None: leave it to huey."""
        if type(job_id) is not str or type(attempt) is not int or not job_id or not 0 <= attempt < 65536:
            return None  # an empty id would make huey draw one; subclasses pickle their class
        try:
            raw = job_id.encode()
        except UnicodeEncodeError:  # a lone surrogate: huey pickles it with surrogatepass
            return None
        size = len(raw)
        if size < 256:
            opcode = _SHORT_TEXT[size]
        elif size <= _LONGEST_ID:
            opcode = b"X" + size.to_bytes(4, "little")
        else:
            return None
        number = _SMALL_NUMBER[attempt] if attempt < 256 else b"M" + attempt.to_bytes(2, "little")
        frame = self._fixed + len(opcode) + size + len(number)
        parts = (self._head, frame.to_bytes(8, "little"), self._before, opcode, raw, self._between, number, self._after)
        return b"".join(parts)

    @property
    def parts(self) -> Shape:
        """The fixed bytes (see :data:`Shape`)."""
        return self._head, self._before, self._between, self._after


def _template(pickled: Pickled) -> _Template | None:
    """The template cut from the probe's message, or None when its layout is not the expected one."""
    probe_id, probe_attempt = _PROBE
    probe = pickled(probe_id, probe_attempt, 0.0)
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(probe)]
    starts = [int(pos or 0) for _, _, pos in pickletools.genops(probe)] + [len(probe)]  # op i: starts[i:i+2]
    if len(ops) < 3 or ops[1] != ("FRAME", len(probe) - starts[2]) or starts[1] != _FRAME_AT:
        return None  # no single frame (a protocol below 4): not worth a second layout
    texts = [i for i, op in enumerate(ops) if op == ("SHORT_BINUNICODE", probe_id)]
    numbers = [i for i, op in enumerate(ops) if op == ("BININT1", probe_attempt)]
    if len(texts) != 1 or len(numbers) != 1 or not texts[0] < numbers[0]:
        return None
    (text,), (number,) = texts, numbers
    before, between = probe[starts[2] : starts[text]], probe[starts[text + 1] : starts[number]]
    template = _Template(probe[: _FRAME_AT + 1], before, between, probe[starts[number + 1] :])
    if all(template.fill(job_id, attempt) == pickled(job_id, attempt, 0.0) for job_id, attempt in _CHECKS):
        return template
    return None


def _plain(huey: Huey) -> bool:
    # Only huey's own message building and plain pickling: anything else may add or change bytes.
    serializer = huey.serializer
    return (
        type(serializer) is Serializer
        and not serializer.comp
        and type(huey).serialize_task is Huey.serialize_task
        and type(huey._registry).create_message is Registry.create_message
    )


class Messages:
    """``message_for(job_id, attempt, delay)`` for ``task`` (huey's task ``run_job(job_id, attempt)``).

    The bytes are those of ``huey.serialize_task(task.s(job_id, attempt, id=job_id, delay=...))``;
    without a delay they come from a template (see the module's docstring) where huey allows.
    """

    def __init__(self, huey: Huey, task: Any) -> None:
        self._huey, self._task = huey, task
        # The serializer the template was made for, and the template (None: huey pickles each one).
        self._made: tuple[object, _Template | None] = (None, None)

    def __call__(self, job_id: str, attempt: int, delay: float) -> bytes:
        """Huey's message for the run ``attempt`` of ``job_id``, due in ``delay`` seconds."""
        if not delay:
            template = self._template()
            if template is not None and (message := template.fill(job_id, attempt)) is not None:
                return message
        return self.pickled(job_id, attempt, delay)

    def shape(self) -> Shape | None:
        """The template's fixed bytes (see :data:`Shape`), which ``take.lua`` reads messages by;
        None when huey pickles each message itself."""
        template = self._template()
        return None if template is None else template.parts

    def _template(self) -> _Template | None:
        serializer, template = self._made
        if serializer is not self._huey.serializer:
            serializer = self._huey.serializer
            template = _template(self.pickled) if _plain(self._huey) else None
            self._made = (serializer, template)
        return template

    def pickled(self, job_id: str, attempt: int, delay: float) -> bytes:
        """The message as huey makes it: a task, then its message pickled."""
        task = self._task.s(job_id, attempt, id=job_id, delay=delay or None)
        return self._huey.serialize_task(task)  # type: ignore[no-any-return]
