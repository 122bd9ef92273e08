"""Metrics as Amazon's algorithms log them, and the regexes that read them back.

SageMaker's own algorithms print quality metrics as::

    #quality_metric: host=algo-1, epoch=2, train mse_objective <loss>=0.512
    #quality_metric: host=algo-1, validation mse_objective <loss>=0.498
    #quality_metric: host=algo-1, test msd <loss>=1.87

and the platform turns them into the metrics ``train:mse_objective``,
``validation:mse_objective`` and ``test:msd`` (the names tuning objectives use). The
algorithms here print the same lines, so ``metric_definitions`` gives the regexes the
training job applies to its log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NUMBER = r"([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|nan|inf))"


def log_metric(
    channel: str,
    name: str,
    value: float,
    *,
    host: str = "algo-1",
    kind: str = "score",
    epoch: int | None = None,
) -> None:
    """Print one metric line; ``kind`` is ``loss`` or ``score`` as in SageMaker's logs."""
    where = f"host={host}" + (f", epoch={epoch}" if epoch is not None else "")
    print(f"#quality_metric: {where}, {channel} {name} <{kind}>={float(value)!r}", flush=True)


def metric_definitions(names: Iterable[str]) -> list[dict[str, str]]:
    """``[{"Name": "test:msd", "Regex": ...}]`` for metric names ``<channel>:<metric>``."""
    definitions = []
    for full in names:
        channel, _, metric = full.partition(":")
        regex = (
            rf"#quality_metric: host=\S+, (?:epoch=\S+, )?{re.escape(channel)} "
            rf"{re.escape(metric)} <\w+>={NUMBER}"
        )
        definitions.append({"Name": full, "Regex": regex})
    return definitions
