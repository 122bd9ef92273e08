"""One training job, from its instances' directories to its uploaded model.

A :class:`TrainingRun` is a worker thread: it prepares the instances (code, data,
checkpoints), launches them, watches them (logs, metrics, stop requests, the runtime
limit), uploads what they produced and reports each step to the controller, which owns
the job's status. A run started for a job an earlier server launched adopts its
instances instead of launching new ones.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagebrush.compute import Handle, LaunchSpec
from sagebrush.compute.base import UNKNOWN_EXIT
from sagebrush.container.archives import extract_all
from sagebrush.container.images import ImageRuntime
from sagebrush.container.training.environment import instance_environment
from sagebrush.container.training.launch import build_command
from sagebrush.container.training.layout import write_layout
from sagebrush.container.training.plan import InstancePlan
from sagebrush.container.training.toolkit import exit_status_path
from sagebrush.jobs.training import data
from sagebrush.jobs.training.builtin import builtin_metrics
from sagebrush.jobs.training.context import TrainingContext
from sagebrush.jobs.training.instances_plan import decoded
from sagebrush.jobs.training.logpump import LogPump, MetricDefinition
from sagebrush.jobs.training.status import SecondaryStatus as S
from sagebrush.state.resources import Resource

log = logging.getLogger(__name__)
POLL_SECONDS = 0.05
_FAILURE_LIMIT = 1024


class JobFailure(Exception):
    """Ends the job Failed with this text as its FailureReason."""


@dataclass
class Outcome:
    status: S
    reason: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


Report = Callable[[Resource, S, str, dict[str, Any]], Resource | None]


class TrainingRun:
    def __init__(
        self,
        ctx: TrainingContext,
        job: Resource,
        plans: list[InstancePlan],
        image: ImageRuntime,
        report: Report,
        *,
        adopt: bool = False,
    ) -> None:
        self.ctx = ctx
        self.job = job
        self.plans = plans
        self.image = image
        self.report = report
        self.adopt = adopt
        self.instance_count = len(plans)
        # Instance processes launched whose exit has not been seen yet (for /metrics).
        self.running = 0
        self.stop_event = threading.Event()
        self.done = threading.Event()
        self._handles: list[Handle] = []
        self._feeders: list[data.PipeFeeder] = []
        self._checkpoints: data.CheckpointSync | None = None
        self._pumps: list[LogPump] = []
        self._thread = threading.Thread(target=self._main, name=f"training:{job.name}", daemon=True)

    # --- control -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def handles(self) -> tuple[Handle, ...]:
        """The instances launched (or adopted) so far, for ``sagebrush status``."""
        return tuple(self._handles)

    # --- the job ------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            outcome = self._adopted() if self.adopt else self._fresh()
        except JobFailure as exc:
            outcome = Outcome(S.FAILED, str(exc)[:_FAILURE_LIMIT])
        except Exception as exc:  # a bug or an environment problem: fail the job, not us
            log.exception("training job %s failed inside Sagebrush", self.job.name)
            outcome = Outcome(S.FAILED, f"InternalServerError: {exc}"[:_FAILURE_LIMIT])
        finally:
            self._cleanup_processes()
        try:
            self._finish(outcome)
        finally:
            self._remove_dirs()
            self.done.set()

    def _fresh(self) -> Outcome:
        spec = self.job.spec
        self._advance(S.DOWNLOADING, "Downloading input data")
        for index, plan in enumerate(self.plans):
            write_layout(plan)
            self._fetch_code(plan)
            self._stage_inputs(plan, index)
        self._restore_checkpoints()
        if self.stop_event.is_set():
            return self._stopped_before_start()
        started = self.ctx.clock()
        self._advance(
            S.TRAINING,
            "Training image download completed. Training in progress.",
            training_start=started,
        )
        for feeder in self._feeders:
            feeder.start()
        for plan in self.plans:
            self._launch(plan)
        self._record(training_start=started)
        return self._watch(started, spec)

    def _adopted(self) -> Outcome:
        facts = self.job.facts
        handles = [Handle.from_json(h) for h in facts.get("instances", [])]
        if not all(plan.root.is_dir() for plan in self.plans):
            raise JobFailure(
                "InternalServerError: the server restarted and this job's instance "
                "directories are gone"
            )
        for handle in handles:
            self.ctx.launcher.adopt(handle)
        self._handles = handles
        offsets = facts.get("log_offsets") or [0] * len(self.plans)
        self._make_pumps(facts.get("log_streams") or [], offsets)
        started = float(facts.get("training_start") or self.ctx.clock())
        return self._watch(started, self.job.spec)

    # --- preparing -----------------------------------------------------------------------

    def _fetch_code(self, plan: InstancePlan) -> None:
        submit = plan.hyperparameters.get("sagemaker_submit_directory")
        if not submit:
            return
        uri = decoded(submit)
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            return
        tarball = plan.root.parent / f"{plan.host}-sourcedir.tar.gz"
        try:
            data.download(self.ctx.objects, uri, tarball)
        except data.ChannelError as exc:
            raise JobFailure(
                f"ClientError: cannot fetch sagemaker_submit_directory: {exc}"
            ) from None
        code = plan.root / "code"
        try:
            with tarfile.open(tarball) as tar:
                extract_all(tar, code)
        except (tarfile.TarError, OSError) as exc:
            raise JobFailure(
                f"ClientError: sagemaker_submit_directory {uri} is not a readable "
                f"tar.gz archive: {exc}"
            ) from None
        finally:
            tarball.unlink(missing_ok=True)

    def _stage_inputs(self, plan: InstancePlan, index: int) -> None:
        channels = self.job.spec.get("InputDataConfig") or []
        for channel, channel_plan in zip(channels, plan.channels, strict=True):
            try:
                objects = data.resolve_channel_objects(
                    self.ctx.objects, channel, index, len(self.plans)
                )
                if channel_plan.input_mode == "Pipe":
                    feeder = data.PipeFeeder(
                        self.ctx.objects,
                        channel,
                        objects,
                        plan.root / "input" / "data",
                        self.stop_event,
                    )
                    self._feeders.append(feeder)
                else:
                    data.stage_file_channel(
                        self.ctx.objects,
                        objects,
                        plan.root / "input" / "data" / channel_plan.name,
                        read_only=channel_plan.input_mode == "FastFile",
                    )
            except data.ChannelError as exc:
                raise JobFailure(str(exc)) from None

    def _restore_checkpoints(self) -> None:
        config = self.job.spec.get("CheckpointConfig")
        if not config:
            return
        primary = self.plans[0]
        self._checkpoints = data.CheckpointSync(
            self.ctx.objects, primary.root / "checkpoints", config["S3Uri"]
        )
        self._checkpoints.restore()

    # --- running ---------------------------------------------------------------------------

    def _launch(self, plan: InstancePlan) -> None:
        epoch = int(self.ctx.clock())
        stream = f"{self.job.name}/{plan.host}-{epoch}"
        log_path = plan.root.parent / f"{plan.host}.log"
        env = instance_environment(plan, _base_env(self.ctx))
        handle = self.ctx.launcher.launch(
            LaunchSpec(
                name=f"{self.job.name}/{plan.host}",
                argv=build_command(plan),
                env=env,
                cwd=plan.root,
                log_path=log_path,
            )
        )
        self._handles.append(handle)
        self.running = len(self._handles)
        self._make_pumps(
            [*[p.stream for p in self._pumps], stream], [*[p.offset for p in self._pumps], 0]
        )
        # Recorded as each instance starts: a server dying now still leaves its successor
        # the handles (to adopt or to kill), never an orphan.
        self._record(
            instances=[h.to_json() for h in self._handles],
            launched=True,
            log_streams=[p.stream for p in self._pumps],
            log_offsets=[p.consumed for p in self._pumps],
        )
        if self._checkpoints is not None and len(self._handles) == 1:
            self._checkpoints.start()

    def _make_pumps(self, streams: list[str], offsets: list[int]) -> None:
        given = self.job.spec["AlgorithmSpecification"].get("MetricDefinitions") or []
        definitions = MetricDefinition.compile([*given, *builtin_metrics(self.image)])
        self._pumps = [
            LogPump(
                account_id=self.job.account_id,
                region=self.job.region,
                job_name=self.job.name,
                stream=stream,
                path=plan.root.parent / f"{plan.host}.log",
                logs=self.ctx.logs,
                metrics=self.ctx.metrics,
                definitions=definitions,
                clock=self.ctx.clock,
                offset=offset,
            )
            for plan, stream, offset in zip(self.plans, streams, offsets, strict=False)
        ]

    def _watch(self, started: float, spec: Any) -> Outcome:
        max_runtime = float(
            (spec.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds") or 86_400
        )
        grace = self.ctx.settings.stop_grace_seconds
        codes: list[int | None] = [None] * len(self._handles)
        stop_reason: S | None = None
        kill_at: float | None = None
        while True:
            now = self.ctx.clock()
            for i, handle in enumerate(self._handles):
                if codes[i] is None:
                    codes[i] = self._exit_code(self.plans[i], self.ctx.launcher.poll(handle))
            self.running = codes.count(None)
            if self._pump():
                # Stored with each batch, so an adopting server neither repeats nor skips.
                self._record(log_offsets=[p.consumed for p in self._pumps])
            if all(code is not None for code in codes):
                break
            failed = any(code not in (None, 0) for code in codes)
            if stop_reason is None and self.stop_event.is_set():
                stop_reason = S.STOPPED
            if stop_reason is None and now - started > max_runtime:
                stop_reason = S.MAX_RUNTIME_EXCEEDED
                self._advance(
                    S.STOPPING,
                    "Stopping the training job: it exceeded "
                    f"MaxRuntimeInSeconds ({int(max_runtime)} s)",
                )
            if (stop_reason is not None or failed) and kill_at is None:
                # One instance failed (the job has failed) or the job is stopping:
                # SIGTERM everything, then SIGKILL what is left after the grace period.
                for handle in self._handles:
                    self.ctx.launcher.terminate(handle)
                kill_at = now + (grace if stop_reason is not None else min(grace, 10.0))
            if kill_at is not None and now >= kill_at:
                for handle in self._handles:
                    self.ctx.launcher.kill(handle)
            self.stop_event.wait(POLL_SECONDS) if stop_reason is None else _sleep(POLL_SECONDS)
        for pump in self._pumps:
            pump.pump(flush=True)
        return self._judge(codes, stop_reason)

    def _pump(self) -> int:
        moved = 0
        for pump in self._pumps:
            try:
                moved += pump.pump()
            except Exception:  # logs must never take the job down
                log.exception("log pump for %s", pump.stream)
        return moved

    @staticmethod
    def _exit_code(plan: InstancePlan, polled: int | None) -> int | None:
        """The toolkit's own record of its exit status wins over what the launcher saw."""
        if polled is None:
            return None
        status_file = exit_status_path(plan.root)
        try:
            return int(status_file.read_text())
        except (OSError, ValueError):
            return polled

    def _judge(self, codes: list[int | None], stop_reason: S | None) -> Outcome:
        if stop_reason is not None:
            return Outcome(stop_reason)
        for plan, code in zip(self.plans, codes, strict=True):
            if code == UNKNOWN_EXIT:
                return Outcome(
                    S.FAILED,
                    (
                        f"InternalServerError: the training process on {plan.host} ended "
                        "without reporting its exit status (killed while the server was down)"
                    ),
                )
            failure = plan.root / "output" / "failure"
            succeeded = (plan.root / "output" / "success").exists()
            if code == 0 and (succeeded or not failure.exists()):
                continue
            if failure.exists():
                text = failure.read_text(errors="replace").strip()
                if text:
                    return Outcome(S.FAILED, text[:_FAILURE_LIMIT])
            return Outcome(
                S.FAILED,
                (
                    f"AlgorithmError: the training process on {plan.host} exited with status "
                    f"{code} and wrote no /opt/ml/output/failure; see the job's logs"
                ),
            )
        return Outcome(S.COMPLETED)

    def _stopped_before_start(self) -> Outcome:
        return Outcome(S.STOPPED)

    # --- finishing ---------------------------------------------------------------------------

    def _finish(self, outcome: Outcome) -> None:
        facts: dict[str, Any] = {}
        launched = bool(self._handles)
        if outcome.status is S.COMPLETED:
            self._advance(S.UPLOADING, "Uploading generated training model")
        if launched and outcome.status is not S.FAILED:
            try:
                facts.update(self._upload())
            except Exception as exc:
                log.exception("uploading the outputs of %s", self.job.name)
                outcome = Outcome(S.FAILED, f"ClientError: uploading the model failed: {exc}")
        if self._checkpoints is not None:
            try:
                self._checkpoints.stop(final=True)
            except Exception:
                log.exception("final checkpoint sync of %s", self.job.name)
        finals = {}
        for pump in self._pumps:
            finals.update(
                {k: {"Value": v.value, "Timestamp": v.timestamp} for k, v in pump.final.items()}
            )
        facts.update(
            final_metrics=finals,
            training_end=self.ctx.clock(),
            failure_reason=outcome.reason or None,
        )
        message = {
            S.COMPLETED: "Training job completed",
            S.FAILED: f"Training job failed. Reason: {outcome.reason}",
            S.STOPPED: "Training job stopped",
            S.MAX_RUNTIME_EXCEEDED: "Training job stopped: it exceeded MaxRuntimeInSeconds",
        }.get(outcome.status, outcome.status.value)
        self._advance(outcome.status, message, **facts)

    def _upload(self) -> dict[str, Any]:
        spec = self.job.spec
        output = spec["OutputDataConfig"]
        path = output["S3OutputPath"]
        compressed = output.get("CompressionType", "GZIP") != "NONE"
        model_dir = self._merged("model")
        model_uri = data.model_artifact_uri(path, self.job.name, compressed=compressed)
        data.upload_directory(self.ctx.objects, model_dir, model_uri, compressed=compressed)
        output_dir = self._merged("output/data")
        output_uri = data.output_artifact_uri(path, self.job.name)
        data.upload_directory(self.ctx.objects, output_dir, output_uri, compressed=True)
        return {"model_artifacts": model_uri, "output_artifacts": output_uri}

    def _merged(self, relative: str) -> Path:
        """One directory with every instance's ``relative`` files (algo-1's win a clash)."""
        dirs = [plan.root / relative for plan in self.plans if (plan.root / relative).is_dir()]
        if len(dirs) <= 1 or not any(any(d.iterdir()) for d in dirs[1:]):
            return dirs[0] if dirs else self.plans[0].root / relative
        merged = self.plans[0].root.parent / f"merged-{relative.replace('/', '-')}"
        for source in reversed(dirs):
            shutil.copytree(source, merged, dirs_exist_ok=True, copy_function=_link_or_copy)
        return merged

    # --- bookkeeping --------------------------------------------------------------------------

    def _advance(self, to: S, message: str, **facts: Any) -> None:
        updated = self.report(self.job, to, message, facts)
        if updated is not None:
            self.job = updated

    def _record(self, **facts: Any) -> None:
        updated = self.ctx.store.change(self.job.id, now=self.ctx.clock(), facts=facts)
        if updated is not None:
            self.job = updated

    def _cleanup_processes(self) -> None:
        self.running = 0
        for feeder in self._feeders:
            feeder.stop()
        for handle in self._handles:
            # Whatever the user's code left running in the instance's process group.
            self.ctx.launcher.kill(handle)

    def _remove_dirs(self) -> None:
        shutil.rmtree(self.ctx.job_dir(self.job), ignore_errors=True)


def _link_or_copy(src: str, dst: str) -> None:
    Path(dst).unlink(missing_ok=True)
    try:
        Path(dst).hardlink_to(src)
    except OSError:
        shutil.copy2(src, dst)


def _sleep(seconds: float) -> None:
    threading.Event().wait(seconds)


def _base_env(ctx: TrainingContext) -> dict[str, str]:
    """The server's environment, minus what would point the job's AWS clients elsewhere.

    Code in the job reaches this server with credentials it accepts, as an execution role's
    credentials reach SageMaker's containers.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SAGEBRUSH_", "SM_", "SAGEMAKER_"))
    }
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    key, secret = next(iter(ctx.settings.credentials.items()))
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, PYTHONUNBUFFERED="1")
    return env
