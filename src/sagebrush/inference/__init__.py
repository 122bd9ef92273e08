"""The script-mode inference toolkit and the multi-model server of the framework images.

What SageMaker's ``sagemaker-inference`` toolkit and its scikit-learn, XGBoost and PyTorch
serving containers do, on the platform's own interpreter:

- ``ScriptRuntime``: a ``ModelRuntime`` over the user's inference script — ``model_fn``,
  ``input_fn``, ``predict_fn``, ``output_fn`` or ``transform_fn``, each falling back to the
  framework's default (``framework(name)``);
- ``MultiModelServer``: the multi-model endpoint container API (``/models``) over any
  runtime loader, script mode or a built-in algorithm;
- ``python -m sagebrush.inference``: either server under uvicorn (see ``__main__``).
"""

from __future__ import annotations

from sagebrush.inference._context import Context, relay_headers
from sagebrush.inference._frameworks import FRAMEWORKS, Framework, framework
from sagebrush.inference._requirements import RequirementsError, unmet_requirements
from sagebrush.inference.multi_model import MultiModelServer
from sagebrush.inference.runtime import ScriptRuntime

__all__ = [
    "FRAMEWORKS",
    "Context",
    "Framework",
    "MultiModelServer",
    "RequirementsError",
    "ScriptRuntime",
    "framework",
    "relay_headers",
    "unmet_requirements",
]
