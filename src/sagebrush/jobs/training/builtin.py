"""What the platform adds for built-in algorithm jobs: the metrics SageMaker publishes."""

from __future__ import annotations

import importlib

from sagebrush.algorithms import IMPLEMENTED
from sagebrush.container.images import ImageRuntime


def builtin_metrics(image: ImageRuntime) -> list[dict[str, str]]:
    """The algorithm's own metric definitions (``validation:auc``...), for built-in images.

    SageMaker defines these for its algorithms, so tuning objectives and
    FinalMetricDataList work without the user writing regexes.
    """
    if image.kind != "builtin" or image.framework not in IMPLEMENTED:
        return []
    module = importlib.import_module(IMPLEMENTED[image.framework])
    definitions: list[dict[str, str]] = module.metric_definitions()
    return definitions
