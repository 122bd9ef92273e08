"""Object storage and identity with unchanged AWS clients.

Start the server as the README's quick start says, then in another shell, in the
repository:

    source .venv/bin/activate && eval "$(sagebrush env)"
    python examples/s3_and_sdk_basics.py

Nothing here knows about Sagebrush: the same code runs against AWS.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import boto3
import sagemaker


def main() -> None:
    sts = boto3.client("sts")
    identity = sts.get_caller_identity()
    print("account:", identity["Account"], "arn:", identity["Arn"])

    s3 = boto3.client("s3")
    bucket = "sagebrush-example"
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="hello/world.txt", Body=b"hello, world\n")
    print("read back:", s3.get_object(Bucket=bucket, Key="hello/world.txt")["Body"].read())
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="hello/", Delimiter="/")
    print("keys:", [o["Key"] for o in listing.get("Contents", [])])

    # A 20 MiB file goes up in multipart chunks, as boto3 does against AWS.
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.bin"
        big.write_bytes(bytes(range(256)) * (20 * 4096))
        s3.upload_file(str(big), bucket, "big.bin")
        s3.download_file(bucket, "big.bin", str(Path(tmp) / "back.bin"))
        assert (Path(tmp) / "back.bin").read_bytes() == big.read_bytes()
        print(
            "multipart round trip ok, ETag:", s3.head_object(Bucket=bucket, Key="big.bin")["ETag"]
        )

    # A presigned URL anyone can fetch without credentials.
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "hello/world.txt"}, ExpiresIn=300
    )
    print("presigned:", url)

    # The sagemaker SDK: default bucket and uploads, offline.
    session = sagemaker.Session()
    print("default bucket:", session.default_bucket())
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.csv"
        data.write_text("1,0.5,0.25\n0,0.1,0.9\n")
        uri = session.upload_data(str(data), key_prefix="examples/data")
    print("uploaded:", uri)
    role = boto3.client("iam").get_role(RoleName="SagebrushExecutionRole")["Role"]["Arn"]
    print("default execution role:", role)


if __name__ == "__main__":
    main()
