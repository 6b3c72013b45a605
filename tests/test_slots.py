"""The hot path's makers of frozen dataclasses build what the constructors build."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from layer_webhooks import Request
from layer_webhooks._slots import slot_setters
from layer_webhooks.jobs import MemoryLedger, NewJob
from layer_webhooks.jobs._lifecycle import LedgerQueue
from layer_webhooks.receiving import DeliveryPlan, PlannedJob
from layer_webhooks.receiving._decision import OK, _plan, _planned
from layer_webhooks.receiving._http import lowered_request


def test_made_instances_equal_constructed_ones_and_stay_frozen() -> None:
    job = PlannedJob("n", {}, 0.0, None, None)
    new_job = LedgerQueue(MemoryLedger()).new_job("n", {"k": 1}, delay=-1, job_id="i")
    made: list[tuple[Any, Any]] = [
        (lowered_request("POST", "/h", "q=1", {"a": "b"}, b"x"), Request("POST", "/h", "q=1", {"a": "b"}, b"x")),
        (_planned("n", {"k": 1}, 2.0, "j", "c"), PlannedJob("n", {"k": 1}, 2.0, "j", "c")),
        (_plan((job,), 3600.0), DeliveryPlan((job,), 3600.0, OK)),
        (new_job, NewJob("i", '{"name":"n","data":{"k":1}}', 0.0)),
    ]
    for instance, constructed in made:
        assert type(instance) is type(constructed) and instance == constructed
        assert repr(instance) == repr(constructed)
        field = dataclasses.fields(instance)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(instance, field, None)


@dataclasses.dataclass(frozen=True)
class NoSlots:
    a: int


@dataclasses.dataclass(slots=True)
class NotFrozen:
    a: int


@dataclasses.dataclass(frozen=True, slots=True)
class Two:
    a: int
    b: int


@pytest.mark.parametrize(
    ("cls", "names"), [(NoSlots, ("a",)), (NotFrozen, ("a",)), (Two, ("a",)), (Two, ("b", "a")), (int, ())]
)
def test_only_every_field_of_a_frozen_slotted_dataclass_in_order(cls: type, names: tuple[str, ...]) -> None:
    with pytest.raises(TypeError, match="is not a frozen slotted dataclass"):
        slot_setters(cls, *names)
