"""The toolkit's default formats: requests decoded to NumPy, predictions encoded back.

As ``sagemaker_inference.decoder`` / ``encoder`` do: ``application/json`` (an array as
nested lists), ``text/csv`` (rows of numbers), ``application/x-npy`` (``numpy.save``) and,
for requests only, ``application/x-npz`` (a ``scipy.sparse.save_npz`` matrix). Content
types are matched on the media type, parameters ignored. An unknown request type is a 415,
an Accept none of whose types can be written a 406.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from sagebrush.algorithms.errors import InferenceError

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
NPZ = "application/x-npz"
ANY = "*/*"

# The toolkit hands the handlers these request bodies as text, the others as bytes; it
# compares the whole header, so "text/csv; charset=utf-8" stays bytes there too.
UTF8_TYPES = (JSON, CSV)

DECODABLE = (JSON, CSV, NPY, NPZ)
ENCODABLE = (JSON, CSV, NPY)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def unsupported(content_type: str | None, status: int) -> InferenceError:
    what = "request data" if status == 415 else "response"
    hook = "input_fn to deserialize" if status == 415 else "output_fn to serialize"
    return InferenceError(
        status,
        f"Content type {content_type or '(none)'} is not supported by this framework. "
        f"Implement {hook} the {what} in that format.",
    )


def decode(data: str | bytes, content_type: str | None, supported: Iterable[str]) -> Any:
    """The request as an array (a sparse matrix for NPZ); 415 for a type not in ``supported``."""
    media = media_type(content_type)
    if media not in supported:
        raise unsupported(content_type, 415)
    if media == JSON:
        return np.array(json.loads(data))
    if media == CSV:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return np.genfromtxt(io.StringIO(text), delimiter=",")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if media == NPY:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    import scipy.sparse

    return scipy.sparse.load_npz(io.BytesIO(raw))


def negotiate(accept: str, supported: Iterable[str]) -> str:
    """The first type listed in ``accept`` that is ``supported``; 406 when there is none."""
    offered = tuple(supported)
    for part in accept.split(","):
        media = media_type(part)
        if media in offered:
            return media
    raise unsupported(accept, 406)


def encode(prediction: Any, content_type: str) -> bytes:
    """``prediction`` (an array, nested lists or a number) written as ``content_type``."""
    media = media_type(content_type)
    if media == JSON:
        return json.dumps(prediction, default=_plain).encode("utf-8")
    if media == CSV:
        return _csv(prediction)
    if media == NPY:
        buffer = io.BytesIO()
        np.save(buffer, prediction)
        return buffer.getvalue()
    raise unsupported(content_type, 406)


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _csv(prediction: Any) -> bytes:
    """A line per row; a vector is a column, as the toolkit writes it."""
    array = np.asarray(prediction)
    if array.ndim < 2:
        array = array.reshape(-1, 1)
    stream = io.StringIO()
    csv.writer(stream, lineterminator="\n").writerows(array)
    return stream.getvalue().encode("utf-8")
