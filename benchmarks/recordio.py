"""RecordIO-protobuf read throughput: what a built-in algorithm pays to load its channel.

A File-mode ``train`` channel holding 200,000 x 50 float32 rows with labels, as the SDK's
``record_set()`` writes them (the file's first records are checked byte for byte against
the SDK's writer), is loaded with ``load_channel`` — file read plus parse, the whole cost
an algorithm sees. Beside it in the same run:
- the floor: reading the same file and copying its bytes into one numpy array;
- the SDK's way: ``read_records`` (a protobuf message per record) then numpy, on a slice;
- sparse data (``write_spmatrix_to_sparse_tensor``), which takes the record-by-record path.
Target: >= 200 MB/s for dense data.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sagemaker.amazon.common import (
    read_records,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)

from sagebrush.algorithms._instance import Instance
from sagebrush.algorithms.data import RECORDIO_PROTOBUF, load_channel
from sagebrush.algorithms.data import recordio_protobuf as rp


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    features = rng.normal(size=(args.rows, args.features)).astype(np.float32)
    labels = rng.integers(0, 2, args.rows).astype(np.float32)
    data = rp.write_dense(features, labels)
    sdk = io.BytesIO()
    write_numpy_to_dense_tensor(sdk, features[:100], labels[:100])
    assert data.startswith(sdk.getvalue()), "not the SDK's bytes"
    megabytes = len(data) / 1e6

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "input" / "config").mkdir(parents=True)
        (root / "input" / "config" / "inputdataconfig.json").write_text(
            json.dumps({"train": {"ContentType": RECORDIO_PROTOBUF, "TrainingInputMode": "File"}})
        )
        path = root / "input" / "data" / "train" / "matrix_0.pbr"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        loaded = load_channel(Instance(root), "train", supported=(RECORDIO_PROTOBUF,))
        assert np.array_equal(loaded.features, features)
        assert np.array_equal(loaded.labels, labels)
        ours = best_of(
            args.runs, lambda: load_channel(Instance(root), "train", supported=(RECORDIO_PROTOBUF,))
        )
        floor = best_of(args.runs, lambda: np.frombuffer(path.read_bytes(), np.uint8).copy())

    slice_rows = min(args.rows, 20_000)
    slice_bytes = data[: len(data) // args.rows * slice_rows]

    def sdk_read() -> None:
        records = read_records(io.BytesIO(slice_bytes))
        np.array([r.features["values"].float32_tensor.values for r in records], np.float32)

    sdk_seconds = best_of(1, sdk_read)
    sdk_rate = len(slice_bytes) / 1e6 / sdk_seconds

    matrix = sp.random(50_000, 1_000, density=0.01, format="csr", random_state=0, dtype=np.float32)
    sparse = io.BytesIO()
    write_spmatrix_to_sparse_tensor(sparse, matrix, labels[:50_000])
    sparse_bytes = sparse.getvalue()
    sparse_seconds = best_of(max(1, args.runs // 2), lambda: rp.read(sparse_bytes))

    print(f"dense file: {args.rows:,} x {args.features} float32 + labels, {megabytes:.1f} MB")
    print(
        f"  load_channel (read + parse):      {megabytes / ours:8.0f} MB/s  ({ours * 1e3:.0f} ms)"
    )
    print(
        f"  floor: read file + copy bytes:    {megabytes / floor:8.0f} MB/s  ({floor * 1e3:.0f} ms)"
    )
    print(f"  SDK read_records + numpy:         {sdk_rate:8.1f} MB/s  (on {slice_rows:,} rows)")
    rate = megabytes / ours
    print(f"  ratio to the floor: {floor / ours:.2f}x  to the SDK's reader: {rate / sdk_rate:.0f}x")
    print(f"  target >= 200 MB/s: {'met' if rate >= 200 else 'NOT met'}")
    print(
        f"sparse: 50,000 x 1,000 at 1% ({len(sparse_bytes) / 1e6:.1f} MB), record by record: "
        f"{len(sparse_bytes) / 1e6 / sparse_seconds:.0f} MB/s"
    )


if __name__ == "__main__":
    main()
