"""The endpoint controller: brings endpoints' fleets to what their records ask for.

A thread calls :meth:`EndpointController.reconcile_once` every 0.5 s and whenever an API
call wakes it. Each pass starts, for an endpoint that needs one, one operation on a worker
thread of its own — create, update, change weights and capacities, delete, heal, adopt
after a restart — and, for every endpoint in service, moves its containers' output into
CloudWatch Logs and notices dead containers (a crashed model server is replaced: the
instance leaves the routing table at once, a new one joins when it answers ``/ping``).

Live state (processes, ports, in-flight counts) is in memory, mirrored into the record's
``facts`` after every change so a restarted server can adopt instances that still run.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sagebrush.jobs.endpoints import fleet as fleets
from sagebrush.jobs.endpoints.capture import CaptureWriter
from sagebrush.jobs.endpoints.context import EndpointContext
from sagebrush.jobs.endpoints.deploy import Deployer
from sagebrush.jobs.endpoints.fleet import Instance, LaunchFailed
from sagebrush.jobs.endpoints.invocation_metrics import InvocationMetrics
from sagebrush.jobs.endpoints.live import (
    LiveEndpoint,
    capture_of,
    live_counts,
    live_view,
    routing_table,
    variant_facts,
)
from sagebrush.jobs.endpoints.plan import shift_steps, variant_plans
from sagebrush.jobs.endpoints.router import Router
from sagebrush.jobs.endpoints.serving import StagingError
from sagebrush.jobs.endpoints.status import KIND, LIFECYCLE
from sagebrush.jobs.endpoints.status import EndpointStatus as E
from sagebrush.jobs.lifecycle import transition_latest
from sagebrush.jobs.training.logpump import LogPump
from sagebrush.state.resources import Resource, ResourceMissing

__all__ = ["EndpointContext", "EndpointController"]

log = logging.getLogger(__name__)

DRAIN_SECONDS = 60.0
STOP_GRACE = 30.0  # SIGTERM, then SIGKILL 30 s later, as SageMaker stops old containers


class EndpointController:
    def __init__(self, ctx: EndpointContext) -> None:
        self.ctx = ctx
        self.deploy = Deployer(ctx)
        self.capture = CaptureWriter(ctx.objects)
        self.invocation_metrics = InvocationMetrics(ctx.metrics, flush_interval=2.0)
        self.router = Router(self.capture, self.invocation_metrics)
        self._live: dict[int, LiveEndpoint] = {}
        self._ops: dict[int, threading.Thread] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._adopted = False

    # --- the loop ------------------------------------------------------------------------

    def start(self, *, restore_timeout: float = 60.0) -> None:
        """Bring back the endpoints a previous server left in service, then run the loop.

        Startup waits (up to ``restore_timeout``) until they answer again — instances
        still running are adopted, the others relaunched — so an endpoint reported
        InService by a server that answers its health check is one that can be invoked.
        """
        self.capture.start()
        self.invocation_metrics.start()
        serving = (E.IN_SERVICE, E.UPDATING, E.SYSTEM_UPDATING)
        with self._lock:
            for record in self.ctx.store.unfinished(KIND, terminal=()):
                if record.status in serving:
                    self._spawn(record.id, functools.partial(self._adopt, record))
            restoring = list(self._ops.values())
        deadline = time.monotonic() + restore_timeout
        for op in restoring:
            op.join(timeout=max(0.0, deadline - time.monotonic()))
        self._thread = threading.Thread(target=self._main, name="endpoints", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def live_counts(self) -> list[tuple[str, str, int, int]]:
        """``(endpoint, variant, instances, model-server processes)`` running now."""
        with self._lock:
            return live_counts(list(self._live.values()))

    def live_view(self) -> dict[int, list[dict[str, Any]]]:
        """Every endpoint's running variants and instances, by record id (a copy)."""
        with self._lock:
            alive = self.ctx.launcher.alive
            return {rid: live_view(live, alive) for rid, live in self._live.items()}

    def close(self) -> None:
        """Stop the loop and every model server (a server that stops cleanly leaves no
        processes behind; one that crashed has its instances adopted by the next)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for op in list(self._ops.values()):
            op.join(timeout=5)
        with self._lock:
            lives = list(self._live.values())
        instances = [i for live in lives for v in live.everything() for i in v.instances]
        self._drain(instances, limit=5.0)
        self._stop_instances(instances, grace=5.0)
        self._pump_all(flush=True)
        self.capture.close()
        self.invocation_metrics.close()

    def _main(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile_once()
            except Exception:
                log.exception("endpoint reconcile failed")
            self._wake.wait(0.5)
            self._wake.clear()

    def reconcile_once(self) -> None:
        records = self.ctx.store.unfinished(KIND, terminal=())
        with self._lock:
            for record in records:
                if self._busy(record.id):
                    continue
                work = self._work_for(record)
                if work is not None:
                    self._spawn(record.id, work)
            self._check_health()
        self._pump_all()

    def _busy(self, resource_id: int) -> bool:
        op = self._ops.get(resource_id)
        return op is not None and op.is_alive()

    def _work_for(self, record: Resource) -> Callable[[], None] | None:
        live = self._live.get(record.id)
        status = record.status
        if status == E.DELETING:
            return lambda: self._delete(record)
        if status == E.CREATING:
            return lambda: self._create(record)
        if live is None and status in (E.IN_SERVICE, E.UPDATING, E.SYSTEM_UPDATING):
            return lambda: self._adopt(record)
        if live is None:
            return None
        if status == E.UPDATING and record.facts.get("update"):
            return lambda: self._update(record, live)
        if status == E.UPDATING and record.facts.get("weights"):
            return lambda: self._change_weights(record, live)
        short = [v for v in live.variants if len(v.instances) < v.desired_count]
        if short and status == E.IN_SERVICE:
            return lambda: self._heal(record, live)
        return None

    def _spawn(self, resource_id: int, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except Exception as exc:
                log.exception("endpoint operation failed")
                try:
                    self._give_up(resource_id, exc)
                except Exception:
                    log.exception("cleaning up after a failed endpoint operation failed")
            finally:
                self._wake.set()

        thread = threading.Thread(target=run, name=f"endpoint-{resource_id}", daemon=True)
        self._ops[resource_id] = thread
        thread.start()

    def _give_up(self, resource_id: int, exc: Exception) -> None:
        """An operation failed unexpectedly: end it where it stands, never retry it forever."""
        try:
            record = self.ctx.store.get_id(resource_id)
        except ResourceMissing:
            return
        reason = f"InternalFailure: {type(exc).__name__}: {exc}"[:1024]
        if record.status == E.CREATING:
            self._discard(resource_id, grace=0)
            self._kill_recorded(record)
            self._move(record, E.FAILED, reason, failure_reason=reason)
        elif record.status == E.UPDATING:
            with self._lock:
                live = self._live.get(resource_id)
                green = live.green if live is not None else None
                if live is not None:
                    live.green, live.share = None, 0.0
                    self._publish(live)
            if green:
                self._stop_instances([i for v in green for i in v.instances], grace=0)
            self._move(record, E.IN_SERVICE, "", update=None, weights=None, failure_reason=reason)
        elif record.status == E.DELETING:
            self._discard(resource_id, grace=0)
            self._kill_recorded(record)
            with contextlib.suppress(ResourceMissing):
                self.ctx.store.delete(resource_id)

    # --- operations ------------------------------------------------------------------------

    def _create(self, record: Resource) -> None:
        self._kill_recorded(record)
        snapshot = record.spec["Snapshot"]
        fleet = f"f-{record.version}-{int(time.time() * 1000)}"
        try:
            variants = self.deploy.launch_fleet(
                record, snapshot, fleet, abort=self._aborted(record.id)
            )
        except (LaunchFailed, StagingError) as exc:
            if not self._stop.is_set():  # a server shutting down resumes it next start
                self._move(record, E.FAILED, str(exc)[:1024], failure_reason=str(exc)[:1024])
            return
        live = LiveEndpoint(
            record.id,
            (record.account_id, record.region, record.name),
            snapshot["Config"]["EndpointConfigName"],
            fleet,
            variants,
            capture_of(snapshot["Config"]),
        )
        with self._lock:
            self._live[record.id] = live
            self._publish(live)
        self._pump(live)  # what the containers printed starting up is in the logs by InService
        if not self._move(record, E.IN_SERVICE, "", **self._facts(live)):
            self._discard(record.id, grace=0)

    def _update(self, record: Resource, live: LiveEndpoint) -> None:
        update = record.facts["update"]
        snapshot = update["Snapshot"]
        fleet = f"f-{record.version}-{int(time.time() * 1000)}"
        try:
            green = self.deploy.launch_fleet(
                record,
                snapshot,
                fleet,
                abort=self._aborted(record.id),
                retain=self._retained(live, update),
            )
        except (LaunchFailed, StagingError) as exc:
            if not self._stop.is_set():
                reason = f"Update failed: {exc}"[:1024]
                self._move(record, E.IN_SERVICE, "", update=None, failure_reason=reason)
            return
        with self._lock:
            live.green = green
            live.share = 0.0
        total = sum(v.desired_count for v in green if not v.plan.shadow)
        for share, bake in shift_steps(update.get("DeploymentConfig"), total):
            with self._lock:
                live.share = share
                self._publish(live)
                self._record(record.id, live)
            if self._sleep_unless_deleted(record.id, bake):
                return
        with self._lock:
            blue = live.variants
            live.variants, live.green, live.share = green, None, 0.0
            live.fleet = fleet
            live.config_name = snapshot["Config"]["EndpointConfigName"]
            live.capture = capture_of(snapshot["Config"])
            self._publish(live)
        # From here the new fleet serves: the record says so at once, and the old fleet is
        # stopped whatever happens next.
        self._record(record.id, live, snapshot=snapshot)
        retired = [i for v in blue for i in v.instances]
        try:
            self._drain(retired)
            self._move(
                record,
                E.IN_SERVICE,
                "",
                update=None,
                failure_reason=None,
                snapshot=snapshot,
                last_deployment=update.get("DeploymentConfig"),
                **self._facts(live),
            )
        finally:
            self._stop_instances(retired)

    def _change_weights(self, record: Resource, live: LiveEndpoint) -> None:
        wanted = {d["VariantName"]: d for d in record.facts["weights"]}
        removed: list[Instance] = []
        with self._lock:
            for variant in live.variants:
                change = wanted.get(variant.name)
                if change is None:
                    continue
                if change.get("DesiredWeight") is not None:
                    variant.weight = float(change["DesiredWeight"])
                if change.get("DesiredInstanceCount") is not None:
                    variant.desired_count = int(change["DesiredInstanceCount"])
                while len(variant.instances) > variant.desired_count:
                    removed.append(variant.instances.pop())
            self._publish(live)
        try:
            self._fill(record, live)
        except (LaunchFailed, StagingError) as exc:
            self._move(record, E.IN_SERVICE, "", weights=None, failure_reason=str(exc)[:1024])
            return
        self._drain(removed)
        self._move(record, E.IN_SERVICE, "", weights=None, **self._facts(live))
        self._stop_instances(removed)

    def _heal(self, record: Resource, live: LiveEndpoint) -> None:
        try:
            self._fill(record, live)
        except (LaunchFailed, StagingError) as exc:
            log.warning("endpoint %s: replacing an instance failed: %s", record.name, exc)
            time.sleep(2)
            return
        self._record(record.id, live)

    def _delete(self, record: Resource) -> None:
        with self._lock:
            live = self._live.pop(record.id, None)
            self.router.publish((record.account_id, record.region, record.name), None)
        if live is not None:
            everything = [i for v in live.everything() for i in v.instances]
            self._drain(everything, limit=5.0)
            self._stop_instances(everything, grace=2.0)
            self._pump(live, flush=True)
        self._kill_recorded(record)
        self.capture.flush()
        with contextlib.suppress(ResourceMissing):
            if self.ctx.store.delete(record.id):
                log.info("endpoint %s: Deleting -> deleted", record.name)

    def _adopt(self, record: Resource) -> None:
        """After a restart: take over the instances still running, replace the rest."""
        snapshot = record.facts.get("snapshot") or record.spec["Snapshot"]
        fleet = str(record.facts.get("fleet") or "f-adopted")
        recorded = [r for r in record.facts.get("instances", []) if r.get("fleet") == fleet]
        adopted: dict[str, list[Instance]] = {}
        for data in recorded:
            instance = fleets.adopt_instance(self.ctx.launcher, data)
            if instance is None:
                fleets.kill_recorded(self.ctx.launcher, data)
            else:
                adopted.setdefault(instance.variant, []).append(instance)
        for data in record.facts.get("instances", []):
            if data.get("fleet") != fleet:  # an interrupted update's new fleet
                fleets.kill_recorded(self.ctx.launcher, data)
        counts = {v["VariantName"]: v for v in record.facts.get("variants", [])}
        try:
            variants = self.deploy.stage_fleet(record, snapshot, fleet)
        except StagingError as exc:
            self._move(record, E.FAILED, str(exc)[:1024], failure_reason=str(exc)[:1024])
            return
        for variant in variants:
            variant.instances = adopted.get(variant.name, [])
            seen = counts.get(variant.name, {})
            variant.weight = float(seen.get("CurrentWeight", variant.weight))
            variant.desired_count = int(seen.get("DesiredInstanceCount", variant.desired_count))
            self.deploy.attach_cache(variant)
        live = LiveEndpoint(
            record.id,
            (record.account_id, record.region, record.name),
            str(record.facts.get("config_name") or snapshot["Config"]["EndpointConfigName"]),
            fleet,
            variants,
            capture_of(snapshot["Config"]),
        )
        for variant in variants:
            for instance in variant.instances:
                self._add_pumps(live, instance, resume=True)
        with self._lock:
            self._live[record.id] = live
            self._publish(live)
        try:
            self._fill(record, live)
        except (LaunchFailed, StagingError) as exc:
            log.warning("endpoint %s: relaunching instances failed: %s", record.name, exc)
        self._record(record.id, live)

    # --- fleets ------------------------------------------------------------------------------

    def _fill(self, record: Resource, live: LiveEndpoint) -> None:
        wanted = [(v, v.desired_count - len(v.instances)) for v in live.variants]
        wanted = [(v, n) for v, n in wanted if n > 0]
        if not wanted:
            return
        launched = self.deploy.launch(record, wanted, abort=self._aborted(record.id))
        with self._lock:
            for (variant, _), instances in zip(wanted, launched, strict=True):
                variant.instances.extend(instances)
                for instance in instances:
                    self._add_pumps(live, instance)
            self._publish(live)

    def _drain(self, instances: Iterable[Instance], limit: float = DRAIN_SECONDS) -> None:
        """Wait until requests already sent to ``instances`` have been answered."""
        pending = list(instances)
        for instance in pending:
            instance.retired = True
        deadline = time.monotonic() + limit
        while any(i.inflight for i in pending) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _stop_instances(self, instances: Iterable[Instance], grace: float = STOP_GRACE) -> None:
        fleets.stop_instances(self.ctx.launcher, list(instances), grace=grace)

    def _discard(self, resource_id: int, *, grace: float) -> None:
        with self._lock:
            live = self._live.pop(resource_id, None)
            if live is not None:
                self.router.publish(live.key, None)
        if live is not None:
            self._stop_instances([i for v in live.everything() for i in v.instances], grace)

    # --- health and logs ---------------------------------------------------------------------

    def _check_health(self) -> None:
        for live in self._live.values():
            changed = False
            for variant in live.everything():
                for instance in list(variant.instances):
                    dead = [
                        p
                        for p in instance.processes
                        if self.ctx.launcher.poll(p.handle) is not None
                    ]
                    if dead:
                        log.warning(
                            "endpoint %s: container %s of instance %s exited; replacing it",
                            live.key[2],
                            dead[0].hostname,
                            instance.id,
                        )
                        variant.instances.remove(instance)
                        instance.retired = True
                        fleets.stop_instances(self.ctx.launcher, [instance], grace=0)
                        changed = True
            if changed:
                self._publish(live)

    def _add_pumps(self, live: LiveEndpoint, instance: Instance, *, resume: bool = False) -> None:
        account, region, name = live.key
        for process in instance.processes:
            pump = LogPump(
                account,
                region,
                name,
                instance.stream(process),
                process.log_path,
                self.ctx.logs,
                self.ctx.metrics,
                [],
                self.ctx.clock,
                group=f"/aws/sagemaker/Endpoints/{name}",
            )
            if resume:
                with contextlib.suppress(OSError):
                    pump.offset = process.log_path.stat().st_size
            live.pumps[process.log_path] = pump

    def _pump_all(self, *, flush: bool = False) -> None:
        with self._lock:
            lives = list(self._live.values())
        for live in lives:
            self._pump(live, flush=flush)

    def _pump(self, live: LiveEndpoint, *, flush: bool = False) -> None:
        for path, pump in list(live.pumps.items()):
            try:
                pump.pump(flush=flush)
            except Exception:
                log.exception("moving endpoint output from %s failed", path)

    # --- records -------------------------------------------------------------------------

    def _publish(self, live: LiveEndpoint) -> None:
        account, region, name = live.key
        for variant in live.everything():
            for instance in variant.instances:
                if not any(p.log_path in live.pumps for p in instance.processes):
                    self._add_pumps(live, instance)
        self.router.publish(live.key, routing_table(live, account, region, name))

    def _facts(self, live: LiveEndpoint) -> dict[str, Any]:
        return {
            "fleet": live.fleet,
            "config_name": live.config_name,
            "instances": [i.to_json() for v in live.everything() for i in v.instances],
            "variants": [variant_facts(v) for v in live.variants if not v.plan.shadow],
            "shadow_variants": [variant_facts(v) for v in live.variants if v.plan.shadow],
        }

    def _record(self, resource_id: int, live: LiveEndpoint, **extra: Any) -> None:
        facts = {**self._facts(live), **extra}
        with contextlib.suppress(ResourceMissing):
            self.ctx.store.change(resource_id, now=self.ctx.clock(), facts=facts)

    def _move(self, record: Resource, to: E, message: str, **facts: Any) -> bool:
        moved = transition_latest(
            self.ctx.store,
            LIFECYCLE,
            record.id,
            to,
            message,
            clock=self.ctx.clock,
            facts=facts,
            skip=lambda current: current.status == E.DELETING,
        )
        return moved is not None

    def _aborted(self, resource_id: int) -> Callable[[], bool]:
        """For a launch: whether to give up (the server stops, the endpoint is deleted)."""
        return lambda: self._stop.is_set() or self._deleted(resource_id)

    def _deleted(self, resource_id: int) -> bool:
        try:
            return self.ctx.store.get_id(resource_id).status == E.DELETING
        except ResourceMissing:
            return True

    def _sleep_unless_deleted(self, resource_id: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._deleted(resource_id) or self._stop.is_set():
                return True
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        return self._deleted(resource_id)

    def _retained(self, live: LiveEndpoint, update: dict[str, Any]) -> dict[str, tuple[float, int]]:
        if not update.get("RetainAllVariantProperties"):
            return {}
        excluded = {
            e["VariantPropertyType"] for e in update.get("ExcludeRetainedVariantProperties") or []
        }
        plans = {
            p.name: p
            for p in variant_plans(
                update["Snapshot"]["Config"],
                update["Snapshot"]["Models"],
                self.ctx.settings.images_dir,
            )
        }
        kept = {}
        for variant in live.variants:
            new = plans.get(variant.name)
            if new is None:
                continue
            weight = new.weight if "DesiredWeight" in excluded else variant.weight
            count = new.count if "DesiredInstanceCount" in excluded else variant.desired_count
            kept[variant.name] = (weight, count)
        return kept

    def _kill_recorded(self, record: Resource) -> None:
        for data in record.facts.get("instances", []):
            fleets.kill_recorded(self.ctx.launcher, data)
