"""Each framework image's default handlers: what runs where the script defines none.

``framework(name)`` gives the defaults of the sklearn, xgboost or pytorch serving
container (their modules import the framework only when chosen); ``framework(None)`` the
bare ``sagemaker_inference`` defaults, which decode and encode but leave ``model_fn`` and
``predict_fn`` to the script.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sagebrush.inference._codecs import DECODABLE, ENCODABLE, decode, encode, negotiate

FRAMEWORKS = ("sklearn", "xgboost", "pytorch")

TOOLKIT_DOCS = "https://sagemaker.readthedocs.io/en/stable/"


@dataclass(frozen=True)
class Framework:
    name: str
    model_fn: Callable[[str], Any]
    input_fn: Callable[[Any, str | None], Any]
    predict_fn: Callable[[Any, Any], Any]
    output_fn: Callable[[Any, str], Any]
    # What a request without a Content-Type is taken to be (None: passed on as None).
    default_content_type: str | None = None


def framework(name: str | None) -> Framework:
    if name is None:
        return GENERIC
    if name not in FRAMEWORKS:
        raise ValueError(f"no framework named {name}: use one of {', '.join(FRAMEWORKS)}")
    found: Framework = importlib.import_module(f"sagebrush.inference._{name}").FRAMEWORK
    return found


def not_provided(handler: str, docs: str = TOOLKIT_DOCS) -> NotImplementedError:
    return NotImplementedError(
        f"Please provide a {handler} implementation. See documentation for {handler} at {docs}"
    )


def no_model_fn(model_dir: str) -> Any:
    raise not_provided("model_fn")


def no_predict_fn(data: Any, model: Any) -> Any:
    raise not_provided("predict_fn")


def default_input_fn(input_data: Any, content_type: str | None) -> Any:
    return decode(input_data, content_type, DECODABLE)


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    """The prediction in the first type of ``accept`` the toolkit can write, and that type."""
    chosen = negotiate(accept, ENCODABLE)
    return encode(prediction, chosen), chosen


GENERIC = Framework(
    name="generic",
    model_fn=no_model_fn,
    input_fn=default_input_fn,
    predict_fn=no_predict_fn,
    output_fn=default_output_fn,
)
