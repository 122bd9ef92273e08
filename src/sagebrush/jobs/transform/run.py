"""One transform job, start to end, on a worker thread of its own.

1. Start ``InstanceCount`` instances of the model (the model servers endpoints use, in
   batch mode: ``SAGEMAKER_BATCH=true`` and the job's parameters in the environment) and
   wait for their ``/ping``.
2. Settle ``MaxConcurrentTransforms``, ``BatchStrategy`` and ``MaxPayloadInMB``: the
   request's, else the container's ``GET /execution-parameters``, else the defaults.
3. List the input objects and deal them out: object ``i`` to instance ``i mod N``, each
   processed exactly once. Per object: read (gunzip), split into records, apply the
   InputFilter, pack into payloads, send them — up to ``MaxConcurrentTransforms`` at a time
   per instance, each with ``ModelClientConfig``'s timeout and retries — put the answers
   back in input order, join and filter them, assemble them and upload
   ``<S3OutputPath>/<key relative to the input prefix>.out``. An object that fails leaves
   no ``.out``; the others go on, and the job ends Failed naming it.
4. Stop the instances; Completed, Failed or (asked to) Stopped.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagebrush.container.images import SCRIPT
from sagebrush.jobs.endpoints import fleet as fleets
from sagebrush.jobs.endpoints.fleet import Instance, LaunchFailed, StagedContainer
from sagebrush.jobs.endpoints.plan import containers_of
from sagebrush.jobs.endpoints.serving import (
    ContainerPlan,
    StagingError,
    interpreter_for,
    stage_code,
    stage_model,
)
from sagebrush.jobs.training.data import ChannelError
from sagebrush.jobs.training.data._s3uri import parse_s3_uri
from sagebrush.jobs.training.data.inputs import list_channel_items
from sagebrush.jobs.training.logpump import LogPump
from sagebrush.jobs.transform import processing as dp
from sagebrush.jobs.transform import records as rec
from sagebrush.jobs.transform.capture import BatchCapture, manifest
from sagebrush.jobs.transform.context import TransformContext
from sagebrush.jobs.transform.invoke import InvokeFailed, invoke_chain
from sagebrush.state.resources import Resource

log = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/TransformJobs"


class JobFailed(Exception):
    """The job cannot go on: the message is its FailureReason."""


@dataclass(frozen=True)
class Parameters:
    max_concurrent: int
    batch_strategy: str  # MultiRecord | SingleRecord
    max_payload_mb: int
    timeout: float
    retries: int


@dataclass(frozen=True)
class Outcome:
    status: str  # Completed | Failed | Stopped
    reason: str = ""
    facts: Mapping[str, Any] | None = None


class TransformRun:
    def __init__(
        self,
        ctx: TransformContext,
        job: Resource,
        finish: Callable[[Resource, Outcome], None],
    ) -> None:
        self.ctx = ctx
        self.job = job
        self.finish = finish
        self.stop_requested = threading.Event()
        self.instances: list[Instance] = []
        self.stopped = False  # the instances were stopped (for /metrics)
        self.pumps: list[LogPump] = []
        self.written: list[str] = []  # .out objects uploaded so far
        self.started = job.created  # what DescribeTransformJob shows as TransformStartTime
        capture = job.spec.get("DataCaptureConfig")
        self.capture = (
            BatchCapture.from_request(
                capture,
                job.spec["TransformOutput"].get("Accept"),
                job.spec["TransformInput"].get("ContentType"),
            )
            if capture
            else None
        )
        self._thread = threading.Thread(
            target=self._main, name=f"transform-{job.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self.stop_requested.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- the steps -------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            outcome = self._run()
        except JobFailed as exc:
            outcome = Outcome("Failed", str(exc)[:1024])
        except Exception as exc:
            log.exception("transform job %s failed", self.job.name)
            outcome = Outcome("Failed", f"InternalServerError: {type(exc).__name__}: {exc}"[:1024])
        finally:
            fleets.stop_instances(self.ctx.launcher, self.instances, grace=5.0)
            self.stopped = True
            self._pump(flush=True)
        if self.stop_requested.is_set() and outcome.status != "Failed":
            outcome = Outcome("Stopped", "", outcome.facts)
        if outcome.status == "Stopped":
            # SageMaker stores no output of a job stopped before it completed.
            self._remove_written()
        self.finish(self.job, outcome)

    def _remove_written(self) -> None:
        for uri in self.written:
            bucket, key = parse_s3_uri(uri)
            try:
                self.ctx.objects.delete_object(bucket, key)
            except Exception:
                log.exception("transform job %s: could not remove %s", self.job.name, uri)

    def _run(self) -> Outcome:
        spec = self.job.spec
        items = self._inputs(spec)
        self.instances = self._launch(spec)
        params = self._parameters(spec)
        processing = self._processing(spec)
        count = len(self.instances)
        shares = [items[i::count] for i in range(count)]
        failures = asyncio.run(self._process(shares, params, processing, spec))
        facts = {"objects": len(items), "failed_objects": len(failures)}
        if self.capture is not None and not self.stop_requested.is_set():
            asyncio.run(self._write_manifests(spec, items))
        if self.stop_requested.is_set():
            return Outcome("Stopped", "", facts)
        if failures:
            first = failures[0]
            more = f" (and {len(failures) - 1} more objects)" if len(failures) > 1 else ""
            return Outcome("Failed", f"{first}{more}"[:1024], facts)
        return Outcome("Completed", "", facts)

    def _inputs(self, spec: Mapping[str, Any]) -> list[Any]:
        source = {"DataSource": spec["TransformInput"]["DataSource"]}
        try:
            items = list_channel_items(self.ctx.objects, source, region=self.job.region)
        except ChannelError as exc:
            raise JobFailed(str(exc).removeprefix("ClientError: ")) from None
        if not items:
            uri = spec["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
            raise JobFailed(f"No S3 objects found under S3 URL {uri}.")
        return items

    def _launch(self, spec: Mapping[str, Any]) -> list[Instance]:
        model = spec["Model"]
        images = self.ctx.settings.images_dir
        root = self.ctx.job_dir(self.job)
        staged = []
        try:
            for hostname, container in containers_of(model):
                plan = ContainerPlan.of(container, hostname, images)
                staged.append(self._stage(plan, root / f"code-{hostname}"))
        except StagingError as exc:
            raise JobFailed(str(exc)) from None
        env = fleets.base_environment(
            next(iter(self.ctx.settings.credentials.items())),
            self.ctx.endpoint_url,
            self.job.region,
        )
        resources = spec["TransformResources"]
        count = int(resources["InstanceCount"])
        # The instances share this machine's cores: each gets its share for its OpenMP
        # threads (idle ones spin, and oversubscribed cores lose more than they gain).
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // count))
        env.update(_batch_environment(spec))

        def one(_: int) -> Instance:
            return fleets.launch_instance(
                self.ctx.launcher,
                fleet="transform",
                variant=self.job.name,
                instance_type=str(resources["InstanceType"]),
                directory=root,
                containers=staged,
                base_env=env,
                startup_timeout=600.0,
                should_abort=self.stop_requested.is_set,
            )

        launched: list[Instance] = []
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=min(8, count)) as pool:
            for future in [pool.submit(one, i) for i in range(count)]:
                try:
                    launched.append(future.result())
                except BaseException as exc:
                    errors.append(exc)
        self.instances = launched
        self._start_pumps()
        if errors:
            first = errors[0]
            raise JobFailed(str(first) if isinstance(first, LaunchFailed) else repr(first))
        return launched

    def _stage(self, plan: ContainerPlan, code_dest: Path) -> StagedContainer:
        cache = self.ctx.settings.home / "endpoints" / "_models"
        model_dir = None
        if plan.model_data_url:
            model_dir = stage_model(self.ctx.objects, plan.model_data_url, cache)
        code_dir = stage_code(self.ctx.objects, plan.environment, code_dest)
        interpreter = sys.executable
        if plan.kind == SCRIPT:
            code = code_dir or (model_dir / "code" if model_dir is not None else None)
            interpreter = interpreter_for(code, self.ctx.settings.venvs_dir, plan.environment)
        return StagedContainer(plan, model_dir, code_dir, interpreter)

    def _parameters(self, spec: Mapping[str, Any]) -> Parameters:
        container = _execution_parameters(self.instances[0].processes[0].port)
        concurrent = spec.get("MaxConcurrentTransforms") or container.get("MaxConcurrentTransforms")
        payload = spec.get("MaxPayloadInMB")
        if payload is None:
            payload = container.get("MaxPayloadInMB", 6)
        strategy = spec.get("BatchStrategy") or {
            "MULTI_RECORD": "MultiRecord",
            "SINGLE_RECORD": "SingleRecord",
        }.get(str(container.get("BatchStrategy", "")).upper(), "MultiRecord")
        client = spec.get("ModelClientConfig") or {}
        return Parameters(
            max_concurrent=max(1, int(concurrent or 1)),
            batch_strategy=str(strategy),
            max_payload_mb=int(payload),
            timeout=float(client.get("InvocationsTimeoutInSeconds", 600)),
            retries=int(client.get("InvocationsMaxRetries", 3)),
        )

    def _processing(self, spec: Mapping[str, Any]) -> dp.Processing:
        try:
            return dp.Processing.of_job(spec)
        except dp.ProcessingError as exc:
            raise JobFailed(str(exc)) from None

    # --- the work --------------------------------------------------------------------------

    async def _process(
        self,
        shares: Sequence[Sequence[Any]],
        params: Parameters,
        processing: dp.Processing,
        spec: Mapping[str, Any],
    ) -> list[str]:
        failures: list[tuple[int, str]] = []
        pump = asyncio.create_task(self._pump_forever())
        try:
            await asyncio.gather(
                *(
                    self._instance_work(
                        instance,
                        share,
                        params=params,
                        processing=processing,
                        spec=spec,
                        failures=failures,
                    )
                    for instance, share in zip(self.instances, shares, strict=False)
                )
            )
        finally:
            pump.cancel()
        return [reason for _, reason in sorted(failures)]

    async def _instance_work(
        self,
        instance: Instance,
        share: Sequence[Any],
        *,
        params: Parameters,
        processing: dp.Processing,
        spec: Mapping[str, Any],
        failures: list[tuple[int, str]],
    ) -> None:
        slots = asyncio.Semaphore(params.max_concurrent)
        # The next object is read while this one is with the model.
        reads = [asyncio.ensure_future(_read(self.ctx.objects, i.bucket, i.key)) for i in share[:1]]
        for index, item in enumerate(share):
            if index + 1 < len(share):
                following = share[index + 1]
                reads.append(
                    asyncio.ensure_future(_read(self.ctx.objects, following.bucket, following.key))
                )
            if self.stop_requested.is_set():
                for pending in reads[index:]:
                    pending.cancel()
                return
            uri = f"s3://{item.bucket}/{item.key}"
            try:
                data = await reads[index]
                await self._one_object(
                    instance,
                    item,
                    data,
                    params=params,
                    processing=processing,
                    spec=spec,
                    slots=slots,
                )
            except (rec.RecordsError, dp.ProcessingError, InvokeFailed, JobFailed) as exc:
                failures.append((index, f"Failed to process {uri}: {exc}"))
            except Exception as exc:
                log.exception("transform job %s: %s failed", self.job.name, uri)
                failures.append((index, f"Failed to process {uri}: {type(exc).__name__}: {exc}"))

    async def _one_object(
        self,
        instance: Instance,
        item: Any,
        data: bytes,
        *,
        params: Parameters,
        processing: dp.Processing,
        spec: Mapping[str, Any],
        slots: asyncio.Semaphore,
    ) -> None:
        source, output = spec["TransformInput"], spec["TransformOutput"]
        records, payloads = await asyncio.to_thread(_prepare, data, source, params, processing)
        content_type, accept = source.get("ContentType"), output.get("Accept")

        async def send(payload: rec.Payload) -> bytes:
            async with slots:
                if self.stop_requested.is_set():
                    raise JobFailed("the job was stopped")
                return await invoke_chain(
                    instance.processes,
                    payload.body,
                    content_type,
                    accept,
                    timeout=params.timeout,
                    retries=params.retries,
                )

        answers = await asyncio.gather(*(send(p) for p in payloads))
        assemble_line = output.get("AssembleWith") == "Line"
        if not processing.processes_output:
            parts = [_assembled(a, assemble_line) for a in answers]
        else:
            parts = []
            for payload, answer in zip(payloads, answers, strict=True):
                outputs = dp.split_output(answer, accept or content_type or "", payload.count)
                originals = records[payload.start : payload.start + payload.count]
                for original, out in zip(originals, outputs, strict=True):
                    parts.append(_assembled(processing.join_output(original, out), assemble_line))
        uri = _output_uri(output["S3OutputPath"], item)
        body = b"".join(parts)
        if self.capture is not None and self.capture.generate_inference_id:
            body = await asyncio.to_thread(self.capture.with_inference_ids, body, self.started)
        await _write(self.ctx.objects, uri, body)
        self.written.append(uri)

    async def _write_manifests(self, spec: Mapping[str, Any], items: Sequence[Any]) -> None:
        """The input and output manifests of batch data capture (the objects, not copies)."""
        assert self.capture is not None
        source = spec["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        prefix = source if source.endswith("/") else source.rsplit("/", 1)[0] + "/"
        output = spec["TransformOutput"]["S3OutputPath"].rstrip("/") + "/"
        inputs = [f"s3://{i.bucket}/{i.key}"[len(prefix) :] for i in items]
        outputs = [uri[len(output) :] for uri in self.written]
        for kind, base, keys in (("input", prefix, inputs), ("output", output, outputs)):
            key = self.capture.manifest_key(kind, self.job.name, self.started)
            await _write(self.ctx.objects, key, manifest(base, keys))

    # --- logs --------------------------------------------------------------------------------

    def _start_pumps(self) -> None:
        epoch = int(time.time())
        for instance in self.instances:
            for process in instance.processes:
                stream = f"{self.job.name}/{instance.id}-{epoch}"
                if len(instance.processes) > 1:
                    stream += f"/{process.hostname}"
                self.pumps.append(
                    LogPump(
                        self.job.account_id,
                        self.job.region,
                        self.job.name,
                        stream,
                        process.log_path,
                        self.ctx.logs,
                        self.ctx.metrics,
                        [],
                        self.ctx.clock,
                        group=LOG_GROUP,
                    )
                )

    async def _pump_forever(self) -> None:
        while True:
            await asyncio.to_thread(self._pump)
            await asyncio.sleep(0.5)

    def _pump(self, *, flush: bool = False) -> None:
        for pump in self.pumps:
            try:
                pump.pump(flush=flush)
            except Exception:
                log.exception("moving transform output from %s failed", pump.path)


def _prepare(
    data: bytes, source: Mapping[str, Any], params: Parameters, processing: dp.Processing
) -> tuple[list[bytes], list[rec.Payload]]:
    """An object's records (empty when not needed) and request bodies, off the event loop."""
    data = rec.decompress(data, source.get("CompressionType", "None"))
    split_type = source.get("SplitType", "None")
    limit = rec.payload_limit(params.max_payload_mb)
    plain = not processing.filters_input and not processing.processes_output
    if plain and split_type == "Line" and params.batch_strategy == "MultiRecord":
        payloads = rec.pack_lines(data, limit)
        if payloads is not None:
            return [], payloads
    records = rec.split_records(data, split_type)
    inputs = [processing.filter_input(r) for r in records] if processing.filters_input else records
    return records, rec.pack(inputs, params.batch_strategy, limit, rec.framing_for(split_type))


def _batch_environment(spec: Mapping[str, Any]) -> dict[str, str]:
    """What SageMaker sets in a transform container (the last three only when given)."""
    env = {str(k): str(v) for k, v in (spec.get("Environment") or {}).items()}
    env["SAGEMAKER_BATCH"] = "true"
    if spec.get("MaxPayloadInMB") is not None:
        env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(spec["MaxPayloadInMB"])
    if spec.get("BatchStrategy"):
        env["SAGEMAKER_BATCH_STRATEGY"] = {
            "MultiRecord": "MULTI_RECORD",
            "SingleRecord": "SINGLE_RECORD",
        }[spec["BatchStrategy"]]
    if spec.get("MaxConcurrentTransforms"):
        env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(spec["MaxConcurrentTransforms"])
    return env


def _execution_parameters(port: int) -> dict[str, Any]:
    """The container's ``GET /execution-parameters``; {} when it has none."""
    conn = http.client.HTTPConnection(fleets.LOOPBACK, port, timeout=5)
    try:
        conn.request("GET", "/execution-parameters")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            return {}
        document = json.loads(body)
        return document if isinstance(document, dict) else {}
    except (OSError, ValueError):
        return {}
    finally:
        conn.close()


def _assembled(answer: bytes, line: bool) -> bytes:
    if line and not answer.endswith(b"\n"):
        return answer + b"\n"
    return answer


def _output_uri(output_path: str, item: Any) -> str:
    return f"{output_path.rstrip('/')}/{item.relative_path}.out"


async def _read(objects: Any, bucket: str, key: str) -> bytes:
    reader = objects.open_object(bucket, key)
    chunks = [chunk async for chunk in reader.stream()]
    return b"".join(chunks)


async def _write(objects: Any, uri: str, data: bytes) -> None:
    bucket, key = parse_s3_uri(uri)

    async def body() -> AsyncIterator[bytes]:
        yield data

    await objects.put_object(bucket, key, body(), size=len(data))
