"""CreateHyperParameterTuningJob's rules beyond what the service model checks.

The wire layer already checks required members, enums (Strategy, ScalingType...), lengths
and numeric bounds. Here: the rules SageMaker states in prose (SPECS.md §4) — ranges,
strategies, limits, the objective metric, warm start — and every child's training job
request, checked as CreateTrainingJob would check it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sagebrush.config import Settings
from sagebrush.container.images import resolve_training_image
from sagebrush.jobs.training.builtin import builtin_metrics
from sagebrush.jobs.tuning import status as tuning
from sagebrush.jobs.tuning.children import child_request
from sagebrush.jobs.tuning.progress import max_jobs
from sagebrush.jobs.tuning.space import (
    CATEGORICAL,
    CONTINUOUS,
    INTEGER,
    Definition,
    Range,
    definitions_of,
    grid_size,
    max_resource,
    min_resource,
)
from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import validation
from sagebrush.services.sagemaker._training_check import check_create as check_training
from sagebrush.state.resources import ResourceStore

MAX_TUNABLE = 30
MAX_HYPERPARAMETERS = 100
MAX_PARALLEL = 100
MAX_JOBS = 750
MAX_JOBS_RANDOM = 10_000
MAX_HYPERBAND_RESOURCE = 20_000
_RANGE_KINDS = (
    ("IntegerParameterRanges", INTEGER),
    ("ContinuousParameterRanges", CONTINUOUS),
    ("CategoricalParameterRanges", CATEGORICAL),
)


def check_create(
    ctx: RequestContext, request: dict[str, Any], settings: Settings, store: ResourceStore
) -> None:
    config = request["HyperParameterTuningJobConfig"]
    single, several = request.get("TrainingJobDefinition"), request.get("TrainingJobDefinitions")
    if bool(single) == bool(several):
        raise validation(
            "Exactly one of TrainingJobDefinition and TrainingJobDefinitions must be given."
        )
    if several:
        _check_definition_names(several, config)
    elif not config.get("HyperParameterTuningJobObjective"):
        raise validation(
            "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective is required with "
            "TrainingJobDefinition."
        )
    definitions = definitions_of(request)
    for definition in definitions:
        ranges = definition.spec.get("HyperParameterRanges") or config.get("ParameterRanges")
        _check_ranges(ranges or {}, definition)
        _check_objective(definition, settings)
    _check_limits(request, config)
    _check_strategy(config, definitions)
    if request.get("WarmStartConfig"):
        _check_warm_start(ctx, request, definitions, store)
    for definition in definitions:
        check_training(ctx, _sample_child(request, definition), settings)


def _check_definition_names(
    definitions: Sequence[Mapping[str, Any]], config: Mapping[str, Any]
) -> None:
    names = [d.get("DefinitionName") for d in definitions]
    if any(not n for n in names):
        raise validation(
            "Each of TrainingJobDefinitions needs a DefinitionName when there are several."
        )
    duplicates = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicates:
        raise validation(f"DefinitionName values must be unique: {', '.join(duplicates)}.")
    for d in definitions:
        if not (d.get("TuningObjective") or config.get("HyperParameterTuningJobObjective")):
            raise validation(
                f"Training job definition {d['DefinitionName']} has no TuningObjective and the "
                "tuning job config has no HyperParameterTuningJobObjective."
            )


def _check_ranges(ranges: Mapping[str, Any], definition: Definition) -> None:
    names: list[str] = []
    for member, kind in _RANGE_KINDS:
        for entry in ranges.get(member) or []:
            names.append(entry["Name"])
            if kind != CATEGORICAL:
                _check_numeric(entry, kind)
    if ranges.get("AutoParameters"):
        raise validation(
            "ParameterRanges.AutoParameters (Autotune) is not supported by this Sagebrush "
            "version: give the ranges."
        )
    if len(names) > MAX_TUNABLE:
        raise validation(
            f"The number of hyperparameters to tune ({len(names)}) exceeds the limit of "
            f"{MAX_TUNABLE} across IntegerParameterRanges, ContinuousParameterRanges and "
            "CategoricalParameterRanges."
        )
    if not names:
        raise validation("ParameterRanges must give at least one hyperparameter to tune.")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise validation(
            f"Hyperparameter {duplicates[0]} appears in more than one parameter range."
        )
    static = definition.static
    both = sorted(n for n in names if n in static)
    if both:
        raise validation(
            f"Hyperparameter {both[0]} is given both as a static hyperparameter and as a "
            "tunable hyperparameter range. A hyperparameter can only be one of them."
        )
    total = len(names) + len([k for k in static if k != "_tuning_objective_metric"]) + 1
    if total > MAX_HYPERPARAMETERS:
        raise validation(
            f"The number of hyperparameters, static and tunable plus "
            f"_tuning_objective_metric, is {total}: more than the limit of "
            f"{MAX_HYPERPARAMETERS}."
        )


def _check_numeric(entry: Mapping[str, Any], kind: str) -> None:
    name = entry["Name"]
    low, high = _number(entry["MinValue"], name, kind), _number(entry["MaxValue"], name, kind)
    if low > high:
        raise validation(
            f"The MinValue ({entry['MinValue']}) of hyperparameter {name} must be less than or "
            f"equal to its MaxValue ({entry['MaxValue']})."
        )
    scaling = entry.get("ScalingType") or "Auto"
    if scaling == "Logarithmic" and low <= 0:
        raise validation(
            f"Hyperparameter {name}: Logarithmic scaling requires a range whose values are all "
            f"greater than 0 (MinValue is {entry['MinValue']})."
        )
    if scaling == "ReverseLogarithmic":
        if kind == INTEGER:
            raise validation(
                f"Hyperparameter {name}: ReverseLogarithmic scaling is only supported for "
                "continuous hyperparameters."
            )
        if not (low >= 0 and high < 1):
            raise validation(
                f"Hyperparameter {name}: ReverseLogarithmic scaling requires a range within "
                f"0 <= value < 1 (the range is {entry['MinValue']} to {entry['MaxValue']})."
            )


def _number(text: str, name: str, kind: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (kind == INTEGER and value != int(value)):
        what = "an integer" if kind == INTEGER else "a number"
        raise validation(
            f"The range of hyperparameter {name} has a value that is not {what}: {text!r}."
        )
    return value


def _check_objective(definition: Definition, settings: Settings) -> None:
    algorithm = definition.spec["AlgorithmSpecification"]
    given = [m["Name"] for m in algorithm.get("MetricDefinitions") or []]
    image = resolve_training_image(
        algorithm,
        settings.images_dir,
        hyperparameters=definition.static,
        environment=definition.spec.get("Environment") or {},
    )
    builtin = [m["Name"] for m in builtin_metrics(image)]
    metric = definition.objective.metric
    if metric in given or metric in builtin:
        return
    if builtin:
        raise validation(
            f"The objective metric for the hyperparameter tuning job, [{metric}], isn't valid "
            f"for the [{image.framework}] algorithm. Choose one of its metrics: "
            f"{', '.join(sorted(builtin))}."
        )
    raise validation(
        f"The objective metric [{metric}] is not defined: add a MetricDefinitions entry "
        "with this Name (and a Regex that captures its value) to AlgorithmSpecification."
    )


def _check_limits(request: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    limits = config["ResourceLimits"]
    strategy = config["Strategy"]
    given = limits.get("MaxNumberOfTrainingJobs")
    if given is None and strategy != "Grid":
        raise validation(
            "ResourceLimits.MaxNumberOfTrainingJobs is required unless Strategy is Grid."
        )
    ceiling = MAX_JOBS_RANDOM if strategy == "Random" else MAX_JOBS
    total = max_jobs(request)
    if total > ceiling:
        raise validation(
            f"MaxNumberOfTrainingJobs ({total}) exceeds the limit of {ceiling} training jobs "
            f"per tuning job for the {strategy} strategy."
        )
    parallel = int(limits["MaxParallelTrainingJobs"])
    if parallel > MAX_PARALLEL:
        raise validation(
            f"MaxParallelTrainingJobs ({parallel}) exceeds the limit of {MAX_PARALLEL} "
            "parallel training jobs per tuning job."
        )
    if total and parallel > total:
        raise validation(
            f"MaxParallelTrainingJobs ({parallel}) cannot be greater than "
            f"MaxNumberOfTrainingJobs ({total})."
        )


def _check_strategy(config: Mapping[str, Any], definitions: Sequence[Definition]) -> None:
    strategy = config["Strategy"]
    early = config.get("TrainingJobEarlyStoppingType", "Off")
    if strategy == "Grid":
        if len(definitions) > 1:
            raise validation(
                "The Grid strategy takes one TrainingJobDefinition: multi-algorithm grid "
                "search is not supported by this Sagebrush version."
            )
        ranges = definitions[0].ranges
        numeric = [r.name for r in ranges if r.kind != CATEGORICAL]
        if numeric:
            raise validation(
                "The Grid strategy only supports CategoricalParameterRanges; "
                f"{numeric[0]} is an integer or continuous range."
            )
        given = config["ResourceLimits"].get("MaxNumberOfTrainingJobs")
        combinations = grid_size(ranges)
        if given is not None and int(given) != combinations:
            raise validation(
                f"With the Grid strategy MaxNumberOfTrainingJobs must be left out or equal the "
                f"number of distinct hyperparameter combinations ({combinations}); it is {given}."
            )
    if strategy == "Hyperband":
        if early != "Off":
            raise validation(
                "TrainingJobEarlyStoppingType must be Off with the Hyperband strategy: "
                "Hyperband has its own early stopping."
            )
        top = max_resource(config, definitions[0].static)
        if top is None:
            raise validation(
                "HyperbandStrategyConfig.MaxResource is required unless a static hyperparameter "
                "epochs, numepochs, n-epochs, n_epochs or num_epochs gives it."
            )
        bottom = min_resource(config)
        if not 1 <= bottom <= top <= MAX_HYPERBAND_RESOURCE:
            raise validation(
                f"HyperbandStrategyConfig needs 1 <= MinResource ({bottom}) <= MaxResource "
                f"({top}) <= {MAX_HYPERBAND_RESOURCE}."
            )
    elif config.get("StrategyConfig"):
        raise validation("StrategyConfig is only valid with the Hyperband strategy.")


def _check_warm_start(
    ctx: RequestContext,
    request: Mapping[str, Any],
    definitions: Sequence[Definition],
    store: ResourceStore,
) -> None:
    warm = request["WarmStartConfig"]
    mine = definitions[0]
    for ref in warm["ParentHyperParameterTuningJobs"]:
        name = ref.get("HyperParameterTuningJobName")
        parent = store.find(tuning.KIND, ctx.account_id, ctx.region, str(name))
        if parent is None:
            raise validation(f"Parent hyperparameter tuning job {name} does not exist.")
        if parent.status not in tuning.TERMINAL:
            raise validation(
                f"Parent hyperparameter tuning job {name} is {parent.status}: warm start needs "
                "parent jobs that have ended (Completed, Stopped or Failed)."
            )
        theirs = definitions_of(parent.spec)[0]
        if theirs.objective != mine.objective:
            raise validation(
                f"The objective metric of parent tuning job {name} "
                f"({theirs.objective.type} {theirs.objective.metric}) differs from this job's "
                f"({mine.objective.type} {mine.objective.metric}); warm start needs the same."
            )
        _check_same_hyperparameters(name, theirs, mine)
        if warm["WarmStartType"] == "IdenticalDataAndAlgorithm":
            _check_identical(name, theirs, mine)


def _check_same_hyperparameters(parent: str, theirs: Definition, mine: Definition) -> None:
    def kinds(d: Definition) -> dict[str, str]:
        out = {k: "Static" for k in d.static if k != "_tuning_objective_metric"}
        out.update({r.name: r.kind for r in d.ranges})
        return out

    a, b = kinds(theirs), kinds(mine)
    if len(a) != len(b):
        raise validation(
            f"The number of static plus tunable hyperparameters ({len(b)}) differs from parent "
            f"tuning job {parent}'s ({len(a)}); warm start needs the same number."
        )
    for name, kind in b.items():
        if kind != "Static" and a.get(name) not in (kind, "Static", None):
            raise validation(
                f"Hyperparameter {name} is {kind} here but {a[name]} in parent tuning job "
                f"{parent}: warm start does not allow changing a hyperparameter's type."
            )


def _check_identical(parent: str, theirs: Definition, mine: Definition) -> None:
    def image(d: Definition) -> Any:
        spec = d.spec["AlgorithmSpecification"]
        return spec.get("TrainingImage") or spec.get("AlgorithmName")

    def data(d: Definition) -> Any:
        return [
            (c["ChannelName"], c["DataSource"].get("S3DataSource", {}).get("S3Uri"))
            for c in d.spec.get("InputDataConfig") or []
        ]

    if image(theirs) != image(mine) or data(theirs) != data(mine):
        raise validation(
            f"WarmStartType IdenticalDataAndAlgorithm needs the same training image and input "
            f"data as parent tuning job {parent}; use TransferLearning to change them."
        )


def _sample_child(request: Mapping[str, Any], definition: Definition) -> dict[str, Any]:
    """A child's CreateTrainingJob request with each range at its low end."""
    tuned = {r.name: _low(r) for r in definition.ranges}
    name = f"{request['HyperParameterTuningJobName']}-001-00000000"
    return child_request(name, definition, tuned, list(request.get("Tags") or []))


def _low(r: Range) -> str:
    if r.kind == CATEGORICAL:
        return r.values[0]
    return str(int(r.low)) if r.kind == INTEGER else repr(r.low)
