"""Bucket operations: create, head, list, delete, location."""

from __future__ import annotations

import functools
from typing import Any

import botocore.session

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import OperationResult
from sagebrush.services.base import RequestContext
from sagebrush.services.s3._base import S3Base
from sagebrush.services.s3._wire import check_bucket_name, decode_token, encode_token

US_EAST_1 = "us-east-1"
# Legacy LocationConstraint values and the regions they mean.
_LEGACY_LOCATIONS = {"EU": "eu-west-1", "": US_EAST_1}


@functools.cache
def _s3_regions() -> frozenset[str]:
    """Every region S3 has, from botocore's endpoint data."""
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("s3", partition)
    )


class BucketOperations(S3Base):
    def create_bucket(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        create_bucket_configuration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        check_bucket_name(bucket)
        location = (create_bucket_configuration or {}).get("LocationConstraint")
        if location is None:
            region = ctx.region
        else:
            region = _LEGACY_LOCATIONS.get(location, location)
            if region not in _s3_regions() and region != self.runtime.settings.region:
                raise AwsError(
                    "InvalidLocationConstraint",
                    "The specified location-constraint is not valid",
                    400,
                    fields={"LocationConstraint": location},
                )
            if ctx.region not in (US_EAST_1, region):
                raise AwsError(
                    "IllegalLocationConstraintException",
                    f"The {location} location constraint is incompatible for the region "
                    "specific endpoint this request was sent to.",
                    400,
                )
        # Real S3 answers 200 here in us-east-1 for legacy reasons; we answer
        # BucketAlreadyOwnedByYou everywhere, which every SDK handles and is unambiguous.
        self.store.create_bucket(bucket, ctx.account_id, region)
        return {"Location": f"/{bucket}"}

    def head_bucket(
        self, ctx: RequestContext, *, bucket: str, expected_bucket_owner: str | None = None
    ) -> OperationResult:
        info = self.store.head_bucket(bucket)
        if expected_bucket_owner is not None and info.account_id != expected_bucket_owner:
            raise AwsError("AccessDenied", "Forbidden", 403)
        return OperationResult(
            {"BucketRegion": info.region, "BucketArn": f"arn:aws:s3:::{bucket}"},
            headers={"x-amz-bucket-region": info.region},
        )

    def list_buckets(
        self,
        ctx: RequestContext,
        *,
        max_buckets: int | None = None,
        continuation_token: str | None = None,
        prefix: str | None = None,
        bucket_region: str | None = None,
    ) -> dict[str, Any]:
        buckets = self.store.list_buckets(ctx.account_id)
        after = decode_token(continuation_token) if continuation_token else None
        chosen = [
            b
            for b in buckets
            if (prefix is None or b.name.startswith(prefix))
            and (bucket_region is None or b.region == bucket_region)
            and (after is None or b.name > after)
        ]
        out: dict[str, Any] = {"Owner": self.owner(ctx), "Prefix": prefix}
        if max_buckets is not None and len(chosen) > max_buckets:
            chosen = chosen[:max_buckets]
            out["ContinuationToken"] = encode_token(chosen[-1].name)
        out["Buckets"] = [
            {"Name": b.name, "CreationDate": b.created, "BucketRegion": b.region} for b in chosen
        ]
        return out

    def delete_bucket(
        self, ctx: RequestContext, *, bucket: str, expected_bucket_owner: str | None = None
    ) -> dict[str, Any]:
        self.check_owner(bucket, expected_bucket_owner)
        self.store.delete_bucket(bucket)
        return {}

    def get_bucket_location(
        self, ctx: RequestContext, *, bucket: str, expected_bucket_owner: str | None = None
    ) -> dict[str, Any]:
        info = self.store.head_bucket(bucket)
        if expected_bucket_owner is not None and info.account_id != expected_bucket_owner:
            raise AwsError("AccessDenied", "Access Denied", 403)
        # us-east-1 is the empty constraint, as S3 answers it.
        return {"LocationConstraint": None if info.region == US_EAST_1 else info.region}
