"""Variant choice by weight, TargetVariant, and the traffic-shift steps of an update."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from sagebrush.jobs.endpoints.errors import InvalidInvocation, ServiceUnavailable
from sagebrush.jobs.endpoints.fleet import Instance
from sagebrush.jobs.endpoints.plan import containers_of, mode_of, shift_steps
from sagebrush.jobs.endpoints.router import Route, RoutingTable


def _route(name: str, weight: float, *, instances: int = 1, fleet: str = "f1") -> Route:
    fleet_instances = tuple(
        Instance(f"i-{name}{n}", fleet, name, "ml.m5.large", Path("/nowhere"), [])
        for n in range(instances)
    )
    return Route(name, fleet, weight, fleet_instances, "single")


def _table(*routes: Route) -> RoutingTable:
    return RoutingTable("000000000000", "us-east-1", "ep", routes)


def test_weights_split_traffic_in_proportion() -> None:
    table = _table(_route("A", 0.7), _route("B", 0.3))
    rng = random.Random(7)
    counts = Counter(table.choose(rng, None).variant for _ in range(20_000))
    assert abs(counts["A"] / 20_000 - 0.7) < 0.015
    table = _table(_route("A", 2), _route("B", 1))  # weight / sum of weights
    counts = Counter(table.choose(rng, None).variant for _ in range(20_000))
    assert abs(counts["B"] / 20_000 - 1 / 3) < 0.015


def test_every_window_of_requests_is_split_as_the_weights_say() -> None:
    table = _table(_route("A", 0.7), _route("B", 0.3))
    rng = random.Random(0)
    for _ in range(5):
        window = Counter(table.choose(rng, None).variant for _ in range(10))
        assert window == {"A": 7, "B": 3}
    table = _table(_route("A", 1), _route("B", 1), _route("C", 2))
    window = Counter(table.choose(rng, None).variant for _ in range(4))
    assert window == {"A": 1, "B": 1, "C": 2}


def test_all_zero_weights_split_evenly_and_empty_variants_get_nothing() -> None:
    rng = random.Random(1)
    table = _table(_route("A", 0), _route("B", 0))
    counts = Counter(table.choose(rng, None).variant for _ in range(4_000))
    assert set(counts) == {"A", "B"} and abs(counts["A"] - 2_000) < 200
    table = _table(_route("A", 1, instances=0), _route("B", 1))
    assert {table.choose(rng, None).variant for _ in range(200)} == {"B"}


def test_target_variant_pins_and_names_are_checked() -> None:
    rng = random.Random(3)
    table = _table(_route("A", 1.0), _route("B", 0.0))
    assert {table.choose(rng, "B").variant for _ in range(50)} == {"B"}
    with pytest.raises(InvalidInvocation, match="The variant C does not exist for endpoint ep"):
        table.choose(rng, "C")
    table = _table(_route("A", 1.0), _route("B", 1.0, instances=0))
    with pytest.raises(ServiceUnavailable):
        table.choose(rng, "B")


def test_a_variant_in_both_fleets_during_an_update_is_one_target() -> None:
    rng = random.Random(5)
    table = _table(_route("A", 0.75, fleet="blue"), _route("A", 0.25, fleet="green"))
    fleets = Counter(table.choose(rng, "A").fleet for _ in range(8_000))
    assert abs(fleets["green"] / 8_000 - 0.25) < 0.02


def test_shift_steps_follow_the_deployment_config() -> None:
    assert shift_steps(None, 2) == [(1.0, 0.0)]
    all_at_once = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 5},
            "TerminationWaitInSeconds": 2,
        }
    }
    assert shift_steps(all_at_once, 2) == [(1.0, 7.0)]
    canary = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 3,
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
            }
        }
    }
    assert shift_steps(canary, 4) == [(0.25, 3.0), (1.0, 0.0)]
    linear = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 1,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 40},
            },
            "TerminationWaitInSeconds": 4,
        }
    }
    steps = shift_steps(linear, 5)
    assert [round(s, 6) for s, _ in steps] == [0.4, 0.8, 1.0]
    assert [w for _, w in steps] == [1.0, 1.0, 5.0]


def test_containers_and_modes_of_a_model() -> None:
    single = {"PrimaryContainer": {"Image": "x", "ContainerHostname": "ignored"}}
    assert [h for h, _ in containers_of(single)] == ["primary"]
    assert mode_of(single) == "single"
    assert mode_of({"PrimaryContainer": {"Image": "x", "Mode": "MultiModel"}}) == "multi-model"
    pipeline = {"Containers": [{"Image": "a"}, {"Image": "b"}]}
    assert [h for h, _ in containers_of(pipeline)] == ["container-1", "container-2"]
    assert mode_of(pipeline) == "serial"
    direct = {
        "Containers": [
            {"Image": "a", "ContainerHostname": "pre"},
            {"Image": "b", "ContainerHostname": "m"},
        ],
        "InferenceExecutionConfig": {"Mode": "Direct"},
    }
    assert [h for h, _ in containers_of(direct)] == ["pre", "m"]
    assert mode_of(direct) == "direct"
