"""The script's handlers, found and checked once, as the toolkit's ``Transformer`` does.

A script may define ``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn`` (each
falling back to the framework's default), or ``transform_fn`` instead of the last three —
defining it together with any of them is an error; and the hooks ``pre_model_fn`` and
``model_warmup_fn``. Any handler may take one more, trailing ``context`` argument: its
signature says so, and is read here at load time rather than on every request.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from sagebrush.inference._context import Context
from sagebrush.inference._frameworks import Framework

TRANSFORM_FN_CONFLICT = (
    "Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, "
    "and/or output_fn implementation"
)
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class Handler:
    func: Callable[..., Any]
    takes_context: bool

    def __call__(self, *args: Any, context: Context | None) -> Any:
        if self.takes_context:
            return self.func(*args, context)
        return self.func(*args)


@dataclass(frozen=True)
class Handlers:
    model_fn: Handler
    input_fn: Handler
    predict_fn: Handler
    output_fn: Handler
    transform_fn: Handler | None = None
    pre_model_fn: Handler | None = None
    model_warmup_fn: Handler | None = None

    @property
    def take_context(self) -> bool:
        """Whether a request's context must be built for any per-request handler."""
        chain = (
            (self.transform_fn,)
            if self.transform_fn
            else (
                self.input_fn,
                self.predict_fn,
                self.output_fn,
            )
        )
        return any(h.takes_context for h in chain if h is not None)


def import_script(path: Path, module_name: str) -> ModuleType:
    """The script at ``path`` executed as module ``module_name`` (in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def resolve(module: ModuleType | None, defaults: Framework) -> Handlers:
    def found(name: str) -> Callable[..., Any] | None:
        value = getattr(module, name, None) if module is not None else None
        return value if callable(value) else None

    transform_fn = found("transform_fn")
    input_fn, predict_fn, output_fn = found("input_fn"), found("predict_fn"), found("output_fn")
    if transform_fn is not None and (input_fn or predict_fn or output_fn):
        raise ValueError(TRANSFORM_FN_CONFLICT)
    pre_model_fn, warmup_fn = found("pre_model_fn"), found("model_warmup_fn")
    return Handlers(
        model_fn=bind(found("model_fn") or defaults.model_fn, "model_fn", 1),
        input_fn=bind(input_fn or defaults.input_fn, "input_fn", 2),
        predict_fn=bind(predict_fn or defaults.predict_fn, "predict_fn", 2),
        output_fn=bind(output_fn or defaults.output_fn, "output_fn", 2),
        transform_fn=bind(transform_fn, "transform_fn", 4) if transform_fn else None,
        pre_model_fn=bind(pre_model_fn, "pre_model_fn", 1) if pre_model_fn else None,
        model_warmup_fn=bind(warmup_fn, "model_warmup_fn", 2) if warmup_fn else None,
    )


def bind(func: Callable[..., Any], name: str, count: int) -> Handler:
    """``func`` called with ``count`` arguments, plus the context when it takes one more."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: call it plainly
        return Handler(func, takes_context=False)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return Handler(func, takes_context=False)
    positional = sum(1 for p in parameters if p.kind in _POSITIONAL)
    required = sum(1 for p in parameters if p.kind in _POSITIONAL and p.default is p.empty)
    if positional == count + 1:
        return Handler(func, takes_context=True)
    if required <= count <= positional:
        return Handler(func, takes_context=False)
    raise TypeError(f"{name} takes {positional} arguments but {count} were given.")
