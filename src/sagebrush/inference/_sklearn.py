"""The defaults of SageMaker's scikit-learn serving container.

The container has no default ``model_fn`` (the script must load the model); requests are
decoded by the toolkit's decoders, JSON and CSV as float32; ``predict_fn`` is
``model.predict``. A request without a Content-Type is read as JSON, as the container's
request object assumes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sagebrush.inference._codecs import DECODABLE, JSON, UTF8_TYPES, decode, media_type
from sagebrush.inference._frameworks import Framework, default_output_fn, not_provided

SDK_DOCS = "https://github.com/aws/sagemaker-python-sdk"


def model_fn(model_dir: str) -> Any:
    raise not_provided("model_fn", SDK_DOCS)


def input_fn(input_data: Any, content_type: str | None) -> Any:
    array = decode(input_data, content_type, DECODABLE)
    if media_type(content_type) in UTF8_TYPES:
        return np.asarray(array).astype(np.float32)
    return array


def predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


FRAMEWORK = Framework(
    name="sklearn",
    model_fn=model_fn,
    input_fn=input_fn,
    predict_fn=predict_fn,
    output_fn=default_output_fn,
    default_content_type=JSON,
)
