"""``ScriptRuntime``: a framework image's model served from the user's inference script.

Loading does what the serving containers do at start: the code directory (``--code-dir``,
else ``<model_dir>/code``) has its ``requirements.txt`` met and goes first on ``sys.path``;
``SAGEMAKER_PROGRAM`` (default ``inference.py``) is imported from it; the handlers it
defines replace the framework's defaults; ``model_fn(model_dir)`` loads the model.

Each request runs ``transform_fn``, or ``input_fn`` → ``predict_fn`` → ``output_fn``, on
the body (text for JSON and CSV, bytes otherwise) with its Content-Type and Accept (a
missing Accept or ``*/*`` is ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``, else JSON). The
result is the response body, or a ``(body, content_type)`` tuple; without a content type
the response is labelled with the Accept. Formats the defaults cannot read answer 415,
an Accept they cannot write 406; anything the script raises is a 500 with its message
(an exception carrying an HTTP ``status_code``, like the toolkit's
``BaseInferenceToolkitError``, answers that status).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving.runtime import ModelRuntime, Prediction
from sagebrush.inference._codecs import ANY, JSON, UTF8_TYPES
from sagebrush.inference._context import Context
from sagebrush.inference._frameworks import Framework, framework
from sagebrush.inference._handlers import Handlers, import_script, resolve
from sagebrush.inference._requirements import ensure_requirements

DEFAULT_PROGRAM = "inference.py"

# sys.path and sys.modules are process-wide: loads on worker threads take turns.
_IMPORTS = threading.Lock()


class ScriptRuntime(ModelRuntime):
    def __init__(
        self,
        environment: Mapping[str, str],
        *,
        model: Any,
        handlers: Handlers,
        defaults: Framework,
        context: Context,
        imported: tuple[str, ...] = (),
        added_path: str | None = None,
    ) -> None:
        super().__init__(environment)
        self.model = model
        self.handlers = handlers
        self.defaults = defaults
        self.context = context
        self.default_accept = environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON
        self._imported = imported
        self._added_path = added_path
        self._take_context = handlers.take_context

    @classmethod
    def load(
        cls,
        model_dir: Path,
        environment: Mapping[str, str],
        *,
        framework_name: str | None = None,
        code_dir: Path | None = None,
        module_name: str | None = None,
        model_name: str = "model",
    ) -> Self:
        """Import the script and load its model; ``module_name`` (default: the script's
        file name) is what the script is imported as, so that two models' scripts of the
        same name stay two modules."""
        defaults = framework(framework_name)
        code = code_dir if code_dir is not None else model_dir / "code"
        program = environment.get("SAGEMAKER_PROGRAM") or DEFAULT_PROGRAM
        stem = program.removesuffix(".py")
        script = code / f"{stem}.py"
        added_path = None
        module = None
        with _IMPORTS:
            if code.is_dir():
                requirements = code / "requirements.txt"
                if requirements.is_file():
                    ensure_requirements(requirements, environment)
                if str(code) not in sys.path:
                    sys.path.insert(0, str(code))
                    added_path = str(code)
            if script.is_file():
                module = import_script(script, module_name or stem)
            elif environment.get("SAGEMAKER_PROGRAM"):
                raise FileNotFoundError(
                    f"SAGEMAKER_PROGRAM {program} is not in the code directory {code}"
                )
        handlers = resolve(module, defaults)
        context = Context(model_name, str(model_dir))
        if handlers.pre_model_fn is not None:
            handlers.pre_model_fn(str(model_dir), context=context)
        model = handlers.model_fn(str(model_dir), context=context)
        if handlers.model_warmup_fn is not None:
            handlers.model_warmup_fn(str(model_dir), model, context=context)
        return cls(
            environment,
            model=model,
            handlers=handlers,
            defaults=defaults,
            context=context,
            imported=(module.__name__,) if module is not None else (),
            added_path=added_path,
        )

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        content_type = content_type or self.defaults.default_content_type
        if not accept or accept.strip() == ANY:
            accept = self.default_accept
        data: str | bytes = body.decode("utf-8") if content_type in UTF8_TYPES else body
        context = self.context.for_request() if self._take_context else None
        try:
            result = self._transform(data, content_type, accept, context)
        except InferenceError:
            raise
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if isinstance(status, int) and 400 <= status < 600:
                message = getattr(exc, "message", None) or str(exc)
                raise InferenceError(status, str(message)) from exc
            raise
        if isinstance(result, tuple):
            return Prediction(_bytes(result[0]), str(result[1]))
        return Prediction(_bytes(result), accept)

    def _transform(
        self, data: str | bytes, content_type: str | None, accept: str, context: Context | None
    ) -> Any:
        h = self.handlers
        if h.transform_fn is not None:
            return h.transform_fn(self.model, data, content_type, accept, context=context)
        features = h.input_fn(data, content_type, context=context)
        prediction = h.predict_fn(features, self.model, context=context)
        return h.output_fn(prediction, accept, context=context)

    def close(self) -> None:
        """Forget the script's module and code path (a multi-model server unloading it)."""
        with _IMPORTS:
            for name in self._imported:
                sys.modules.pop(name, None)
            if self._added_path is not None and self._added_path in sys.path:
                sys.path.remove(self._added_path)


def _bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if body is None:
        return b""
    # What the model servers do with any other value a handler returns.
    return json.dumps(body, default=_plain).encode("utf-8")


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"the handler returned {type(value).__name__}, which is not bytes or JSON")
