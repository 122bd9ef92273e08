"""The entry point every algorithm's ``__main__`` uses: run, report, exit."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from sagebrush.algorithms._instance import Instance
from sagebrush.algorithms.errors import ClientError


def run_training(train: Callable[[Instance], None], argv: list[str] | None = None) -> int:
    """``python -m sagebrush.algorithms.<name> <instance-root>``: train, or fail clearly.

    A ``ClientError`` (bad data, hyperparameters, channels) becomes ``ClientError: ...``
    in ``output/failure``; anything else ``AlgorithmError: ...`` with the traceback in the
    log — the two kinds of reason SageMaker's algorithms give.
    """
    args = sys.argv[1:] if argv is None else argv
    instance = Instance(Path(args[0]))
    if instance.current_host != instance.hosts[0]:
        # Distributed training of the built-ins is not implemented: the first host trains
        # on the whole (FullyReplicated) data set and its model is the job's model.
        print(
            f"{instance.current_host}: the built-in algorithm trains on {instance.hosts[0]}; "
            "nothing to do on this host",
            flush=True,
        )
        return 0
    try:
        train(instance)
    except ClientError as exc:
        instance.fail(f"ClientError: {exc}")
        print(f"ClientError: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:
        traceback.print_exc()
        instance.fail(f"AlgorithmError: {type(exc).__name__}: {exc}")
        return 1
    return 0
