"""Putting fleets up: stage a configuration's containers, start instances in parallel.

Staging unpacks each ``ModelDataUrl`` version once (``serving.stage_model``) and each
script-mode source tarball per fleet; launching starts the wanted instances of every
variant at once on a thread pool and waits for all their ``/ping``s — all or nothing:
if one fails, those already up are stopped and the first error is raised.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sagebrush.container.images import SCRIPT
from sagebrush.jobs.endpoints import fleet as fleets
from sagebrush.jobs.endpoints.context import EndpointContext
from sagebrush.jobs.endpoints.fleet import Instance, StagedContainer
from sagebrush.jobs.endpoints.live import LiveVariant
from sagebrush.jobs.endpoints.multi_model import MultiModelSet
from sagebrush.jobs.endpoints.plan import VariantPlan, variant_plans
from sagebrush.jobs.endpoints.router import MULTI_MODEL
from sagebrush.jobs.endpoints.serving import interpreter_for, stage_code, stage_model
from sagebrush.state.resources import Resource


class Deployer:
    def __init__(self, ctx: EndpointContext) -> None:
        self.ctx = ctx

    def stage_fleet(
        self, record: Resource, snapshot: dict[str, Any], fleet: str
    ) -> list[LiveVariant]:
        plans = variant_plans(snapshot["Config"], snapshot["Models"], self.ctx.settings.images_dir)
        variants = []
        for plan in plans:
            staged = [self.stage(record, fleet, plan, i) for i in range(len(plan.containers))]
            variant = LiveVariant(plan, fleet, plan.weight, plan.count, staged)
            self.attach_cache(variant)
            variants.append(variant)
        return variants

    def stage(self, record: Resource, fleet: str, plan: VariantPlan, index: int) -> StagedContainer:
        container = plan.containers[index]
        cache = self.ctx.root / "_models"
        model_dir = None
        if container.model_data_url and not container.multi_model:
            model_dir = stage_model(self.ctx.objects, container.model_data_url, cache)
        code_dir = stage_code(
            self.ctx.objects,
            container.environment,
            self.ctx.endpoint_dir(record) / fleet / plan.name / f"code-{container.hostname}",
        )
        interpreter = sys.executable
        if container.kind == SCRIPT and not container.multi_model:
            code = code_dir or (model_dir / "code" if model_dir is not None else None)
            interpreter = interpreter_for(code, self.ctx.settings.venvs_dir, container.environment)
        return StagedContainer(container, model_dir, code_dir, interpreter)

    def attach_cache(self, variant: LiveVariant) -> None:
        plan = variant.plan
        if plan.mode != MULTI_MODEL:
            return
        cache = self.ctx.root / "_models"
        variant.multi_model = MultiModelSet(
            plan.multi_model_prefix,
            plan.cache_budget_bytes,
            lambda url: stage_model(self.ctx.objects, url, cache),
            caching=plan.caching,
        )

    def launch_fleet(
        self,
        record: Resource,
        snapshot: dict[str, Any],
        fleet: str,
        *,
        abort: Callable[[], bool],
        retain: dict[str, tuple[float, int]] | None = None,
    ) -> list[LiveVariant]:
        variants = self.stage_fleet(record, snapshot, fleet)
        for variant in variants:
            if retain and variant.name in retain:
                variant.weight, variant.desired_count = retain[variant.name]
        wanted = [(v, v.desired_count) for v in variants]
        launched = self.launch(record, wanted, abort=abort)
        for variant, instances in zip(variants, launched, strict=True):
            variant.instances = instances
        return variants

    def launch(
        self,
        record: Resource,
        wanted: list[tuple[LiveVariant, int]],
        *,
        abort: Callable[[], bool],
    ) -> list[list[Instance]]:
        """Start ``n`` instances of each variant at once; all or nothing."""
        base = fleets.base_environment(
            next(iter(self.ctx.settings.credentials.items())),
            self.ctx.endpoint_url,
            record.region,
        )
        directory = self.ctx.endpoint_dir(record)

        def one(variant: LiveVariant) -> Instance:
            return fleets.launch_instance(
                self.ctx.launcher,
                fleet=variant.fleet,
                variant=variant.name,
                instance_type=variant.plan.instance_type,
                directory=directory / variant.fleet / variant.name,
                containers=variant.staged,
                base_env=base,
                startup_timeout=variant.plan.startup_timeout,
                should_abort=abort,
            )

        jobs = [(variant, i) for variant, n in wanted for i in range(n)]
        results: list[list[Instance]] = [[] for _ in wanted]
        if not jobs:
            return results
        with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
            futures = [(variant, pool.submit(one, variant)) for variant, _ in jobs]
            errors: list[BaseException] = []
            ok: list[tuple[LiveVariant, Instance]] = []
            for variant, future in futures:
                try:
                    ok.append((variant, future.result()))
                except BaseException as exc:
                    errors.append(exc)
        if errors:
            fleets.stop_instances(self.ctx.launcher, [i for _, i in ok], grace=0)
            raise errors[0]
        index = {id(v): k for k, (v, _) in enumerate(wanted)}
        for variant, instance in ok:
            results[index[id(variant)]].append(instance)
        return results
