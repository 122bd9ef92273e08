"""An endpoint's live state, and the routing table and record facts made from it.

A :class:`LiveEndpoint` is what runs now: its production and shadow variants, each with its
staged containers and instances, and during a blue/green update the new fleet (``green``)
with the share of traffic it gets. The controller changes it under its lock and publishes
:func:`routing_table` to the router after every change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagebrush.compute import Handle
from sagebrush.jobs.endpoints.capture import CaptureConfig
from sagebrush.jobs.endpoints.fleet import Instance, StagedContainer
from sagebrush.jobs.endpoints.multi_model import MultiModelSet
from sagebrush.jobs.endpoints.plan import VariantPlan
from sagebrush.jobs.endpoints.router import Key, Route, RoutingTable, Shadow
from sagebrush.jobs.training.logpump import LogPump


@dataclass
class LiveVariant:
    plan: VariantPlan
    fleet: str
    weight: float
    desired_count: int
    staged: list[StagedContainer]
    instances: list[Instance] = field(default_factory=list)
    multi_model: MultiModelSet | None = None

    @property
    def name(self) -> str:
        return self.plan.name


@dataclass
class LiveEndpoint:
    resource_id: int
    key: Key
    config_name: str
    fleet: str
    variants: list[LiveVariant]
    capture: CaptureConfig | None
    green: list[LiveVariant] | None = None
    share: float = 0.0  # of traffic on ``green`` during an update
    pumps: dict[Path, LogPump] = field(default_factory=dict)

    def everything(self) -> list[LiveVariant]:
        return [*self.variants, *(self.green or [])]


def live_counts(lives: Iterable[LiveEndpoint]) -> list[tuple[str, str, int, int]]:
    """``(endpoint, variant, instances, processes)`` for every variant of every fleet that
    runs now (a blue/green update's two fleets add up; a shadow variant counts too)."""
    counts: dict[tuple[str, str], list[int]] = {}
    for live in lives:
        for variant in live.everything():
            tally = counts.setdefault((live.key[2], variant.name), [0, 0])
            tally[0] += len(variant.instances)
            tally[1] += sum(len(i.processes) for i in variant.instances)
    return [(endpoint, variant, n, p) for (endpoint, variant), (n, p) in counts.items()]


def live_view(live: LiveEndpoint, alive: Callable[[Handle], bool]) -> list[dict[str, Any]]:
    """An endpoint's variants as they run now, as plain data for ``sagebrush status``: each
    fleet's variant with its desired count and its instances (in-flight requests, and one
    process per container: host name, pid, port, whether it is alive)."""
    return [
        {
            "variant": variant.name,
            "fleet": variant.fleet,
            "shadow": variant.plan.shadow,
            "desired_instance_count": variant.desired_count,
            "instances": [
                {
                    "id": instance.id,
                    "inflight": instance.inflight,
                    "retired": instance.retired,
                    "processes": [
                        {
                            "container": p.hostname,
                            "pid": p.handle.pid,
                            "port": p.port,
                            "alive": alive(p.handle),
                        }
                        for p in instance.processes
                    ],
                }
                for instance in list(variant.instances)
            ],
        }
        for variant in live.everything()
    ]


def capture_of(config: dict[str, Any]) -> CaptureConfig | None:
    capture = config.get("DataCaptureConfig")
    if not capture:
        return None
    parsed = CaptureConfig.from_request(capture)
    return parsed if parsed.enabled else None


def variant_facts(variant: LiveVariant) -> dict[str, Any]:
    plan = variant.plan
    facts: dict[str, Any] = {
        "VariantName": plan.name,
        "DeployedImages": [
            {"SpecifiedImage": c.image, "ResolvedImage": c.image} for c in plan.containers
        ],
        "CurrentWeight": variant.weight,
        "DesiredWeight": variant.weight,
    }
    if plan.serverless:
        facts["CurrentServerlessConfig"] = dict(plan.serverless)
        facts["DesiredServerlessConfig"] = dict(plan.serverless)
    else:
        facts["CurrentInstanceCount"] = len(variant.instances)
        facts["DesiredInstanceCount"] = variant.desired_count
    return facts


def routing_table(live: LiveEndpoint, account: str, region: str, name: str) -> RoutingTable:
    production = [v for v in live.variants if not v.plan.shadow]
    routes = _routes(production, 1.0 - live.share if live.green else 1.0)
    if live.green:
        routes += _routes([v for v in live.green if not v.plan.shadow], live.share)
    total = sum(v.weight for v in production) or 1.0
    shadows = tuple(
        Shadow(_routes([v], 1.0)[0], min(1.0, v.weight / total))
        for v in live.variants
        if v.plan.shadow
    )
    return RoutingTable(account, region, name, tuple(routes), shadows, live.capture)


def _routes(variants: list[LiveVariant], share: float) -> list[Route]:
    total = sum(v.weight for v in variants)
    routes = []
    for v in variants:
        weight = (v.weight / total if total > 0 else 1.0 / len(variants)) * share
        live = tuple(i for i in v.instances if not i.retired)
        routes.append(Route(v.name, v.fleet, weight, live, v.plan.mode, v.multi_model))
    return routes
