"""``python -m sagebrush.inference``: a framework container's ``serve``.

One model in script mode::

    python -m sagebrush.inference --framework {sklearn,xgboost,pytorch} --model-dir D
        [--code-dir C] [--host H] [--port P]

The multi-model server, its models loaded through ``POST /models``::

    python -m sagebrush.inference --multi-model (--framework F | --algorithm A)
        [--host H] [--port P]

The port is ``--port``, else ``SAGEMAKER_BIND_TO_PORT``, else 8080. A model that will not
load ends the process with status 1 and its reason as one line on stderr.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import uvicorn

from sagebrush.algorithms.serving import load_runtime
from sagebrush.algorithms.serving.asgi import App
from sagebrush.algorithms.serving.runtime import ModelRuntime
from sagebrush.algorithms.serving.server import ModelServer
from sagebrush.inference._context import relay_headers
from sagebrush.inference._frameworks import FRAMEWORKS
from sagebrush.inference.multi_model import Loader, MultiModelServer
from sagebrush.inference.runtime import DEFAULT_PROGRAM, ScriptRuntime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sagebrush.inference")
    parser.add_argument("--framework", choices=FRAMEWORKS)
    parser.add_argument("--algorithm", help="a built-in algorithm (multi-model only)")
    parser.add_argument("--multi-model", action="store_true")
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--code-dir", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    environment = dict(os.environ)
    if args.multi_model:
        if (args.framework is None) == (args.algorithm is None):
            parser.error("--multi-model needs one of --framework or --algorithm")
        app: App = MultiModelServer(
            algorithm_loader(args.algorithm, environment)
            if args.algorithm
            else script_loader(args.framework, environment)
        )
    else:
        if args.framework is None or args.model_dir is None:
            parser.error("serving one model needs --framework and --model-dir")
        try:
            runtime = ScriptRuntime.load(
                args.model_dir, environment, framework_name=args.framework, code_dir=args.code_dir
            )
        except Exception as exc:
            # The platform shows this line as the reason the endpoint failed.
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            print(f"Failed to load the {args.framework} model: {reason}", file=sys.stderr)
            return 1
        app = relay_headers(ModelServer(runtime))
    port = args.port or int(environment.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    uvicorn.run(app, host=args.host, port=port, log_level="warning", access_log=False)
    return 0


def script_loader(framework_name: str, environment: Mapping[str, str]) -> Loader:
    """Each model's script from ``<url>/code``, imported as a module of its own."""
    stem = (environment.get("SAGEMAKER_PROGRAM") or DEFAULT_PROGRAM).removesuffix(".py")
    numbers = itertools.count(1)

    def load(name: str, directory: Path) -> ModelRuntime:
        return ScriptRuntime.load(
            directory,
            environment,
            framework_name=framework_name,
            code_dir=directory / "code",
            module_name=f"{stem}__model{next(numbers)}",
            model_name=name,
        )

    return load


def algorithm_loader(algorithm: str, environment: Mapping[str, str]) -> Loader:
    def load(name: str, directory: Path) -> ModelRuntime:
        return load_runtime(algorithm, directory, environment)

    return load


if __name__ == "__main__":
    sys.exit(main())
