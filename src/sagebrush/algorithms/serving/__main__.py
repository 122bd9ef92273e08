"""``python -m sagebrush.algorithms.serving <algorithm> <model_dir> [--host H] [--port P]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from sagebrush.algorithms.serving import load_runtime
from sagebrush.algorithms.serving.server import ModelServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sagebrush.algorithms.serving")
    parser.add_argument("algorithm")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    port = args.port or int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    try:
        runtime = load_runtime(args.algorithm, args.model_dir, os.environ)
    except Exception as exc:
        # The platform shows this as the reason the model would not load.
        print(f"Failed to load the {args.algorithm} model: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"Serving the {args.algorithm} model in {args.model_dir} on port {port}", flush=True)
    uvicorn.run(
        ModelServer(runtime),
        host=args.host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
