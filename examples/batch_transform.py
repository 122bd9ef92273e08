"""Score a CSV file offline with batch transform, exactly as on SageMaker: the id column
skips the model and comes back beside each prediction.

Start the server as the README's quick start says, then in another shell, in the
repository:

    source .venv/bin/activate && eval "$(sagebrush env)"
    python examples/batch_transform.py

The built-in XGBoost (found by the SDK's `image_uris.retrieve`) trains on label-first CSV.
Its `estimator.transformer(...)` then scores 3,000 customers stored as `id,features...`,
split into two files under one prefix and run on two instances (one file each):
`input_filter="$[1:]"` drops the id before the model sees a row, `join_source="Input"`
joins each prediction to its whole input row, and `output_filter="$[0,-1]"` keeps the id
and the prediction. Each input file gets `<file>.out` under the output path, rows in
input order. A second job goes through boto3 alone: CreateTransformJob, botocore's
`transform_job_completed_or_stopped` waiter, and ListTransformJobs. Nothing here knows
about Sagebrush: with a real role ARN the same code runs against AWS.
"""

# The sagemaker SDK has no type hints.
# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import boto3
import numpy as np
from botocore.exceptions import WaiterError
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.session import Session
from sklearn.datasets import make_classification

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
INSTANCE_TYPE = "ml.m5.large"
# boto3's waiter looks every 60 s by default, the SDK's every 5 to 30; Sagebrush is done
# in seconds.
FAST = {"Delay": 1, "MaxAttempts": 1800}


def write_csv(path: Path, rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(str(v) for v in row) + "\n" for row in rows))


def main() -> None:
    session = Session()
    sm, s3 = boto3.client("sagemaker"), boto3.client("s3")
    bucket = session.default_bucket()
    image = image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1")
    work = Path(tempfile.mkdtemp())
    X, y = make_classification(n_samples=5000, n_features=8, n_informative=5, random_state=0)
    X = X.round(4)

    # Train on 2,000 labelled rows (label first, no header: the built-in XGBoost's CSV).
    write_csv(work / "train" / "data.csv", [[int(y[i]), *X[i]] for i in range(2000)])
    estimator = Estimator(
        image_uri=image,
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        sagemaker_session=session,
        hyperparameters={"objective": "binary:logistic", "num_round": "40", "max_depth": "4"},
    )
    train = session.upload_data(str(work / "train"), key_prefix="examples/transform/train")
    training_job = f"example-transform-{time.strftime('%Y%m%d-%H%M%S')}"
    estimator.fit(
        {"train": TrainingInput(train, content_type="text/csv")}, wait=False, job_name=training_job
    )
    session.wait_for_job(training_job)
    print(f"model: {estimator.model_data}")

    # The other 3,000 rows to score, an id first, in two files.
    ids = [f"customer-{i:05d}" for i in range(2000, 5000)]
    for part, start in (("part-1.csv", 0), ("part-2.csv", 1500)):
        rows = [[ids[i], *X[2000 + i]] for i in range(start, start + 1500)]
        write_csv(work / "score" / "2024" / part, rows)
    data = session.upload_data(str(work / "score"), key_prefix="examples/transform/input")
    output = f"s3://{bucket}/examples/transform/output"
    transformer = estimator.transformer(
        instance_count=2,
        instance_type=INSTANCE_TYPE,
        strategy="MultiRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=output,
    )
    transformer.transform(
        data,
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
        wait=False,
    )
    job = transformer.latest_transform_job.name
    described = session.wait_for_transform_job(job)
    print(f"transform job {job}: {described['TransformJobStatus']}")

    listed = s3.list_objects_v2(Bucket=bucket, Prefix="examples/transform/output/")
    keys = sorted(item["Key"] for item in listed["Contents"])
    print("outputs:", ", ".join(f"s3://{bucket}/{key}" for key in keys))
    first = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read().decode().splitlines()
    print("first lines (id,probability):")
    for line in first[:5]:
        print("  " + line)
    scored = []
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        scored += [line.split(",") for line in body.splitlines()]
    assert [row[0] for row in scored] == ids, "every id once, in input order"
    accuracy = np.mean([(float(p) > 0.5) == y[2000 + i] for i, (_, p) in enumerate(scored)])
    print(f"accuracy on the 3,000 scored rows: {accuracy:.3f}")

    # The same model through boto3 alone, and the jobs so far.
    model = transformer.model_name
    name = f"{job}-boto3"[:63]
    sm.create_transform_job(
        TransformJobName=name,
        ModelName=model,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": data}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={
            "S3OutputPath": f"{output}-boto3",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        TransformResources={"InstanceType": INSTANCE_TYPE, "InstanceCount": 1},
        DataProcessing={"InputFilter": "$[1:]"},
        BatchStrategy="MultiRecord",
    )
    try:
        sm.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=name, WaiterConfig=FAST
        )
    except WaiterError as exc:  # the waiter gives up on Failed: say why
        raise SystemExit(f"{name} failed: {exc.last_response.get('FailureReason')}") from None
    status = sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"]
    key = "examples/transform/output-boto3/2024/part-1.csv.out"
    plain = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    print(f"boto3 job {name}: {status}; no join, so only the probabilities: {plain[:3]}")
    for summary in sm.list_transform_jobs(NameContains=job, SortBy="Name")["TransformJobSummaries"]:
        print(f"  {summary['TransformJobName']}: {summary['TransformJobStatus']}")
    print("batch transform example ok")


if __name__ == "__main__":
    main()
