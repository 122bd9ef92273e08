"""A tuning job's optimizer: an optuna study, asked for each new child and told its result.

Strategies map to optuna's samplers and pruners:

- ``Bayesian``: TPE, multivariate (ranges modelled jointly), with the constant liar so
  parallel children do not all pick the same point; the first five trials are random
  unless warm start brings history;
- ``Random``: independent uniform draws (``RandomSeed`` seeds them);
- ``Grid``: every combination of the categorical values once;
- ``Hyperband``: TPE sampling with optuna's Hyperband pruner over the objective's
  intermediate values (one per epoch), between MinResource and MaxResource epochs.

``TrainingJobEarlyStoppingType`` ``Auto`` adds the median rule: a child whose objective at
an epoch is worse than the median of the completed children's at that epoch is stopped
(optuna's MedianPruner, after three completed children, from the second epoch).

The study lives in memory and is rebuilt from the children when the server starts: the
children (their tuned hyperparameters, objective values and intermediate values, all in
the database) are the tuner's state. Finished children are added as finished trials; a
child still running gets its trial back by enqueueing its parameters.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from sagebrush.jobs.tuning.space import (
    DEFINITION,
    Definition,
    definitions_of,
    max_resource,
    min_resource,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
STARTUP_TRIALS = 5  # random trials before TPE models the results
MEDIAN_STARTUP_TRIALS = 3  # completed children before the median rule stops any


@dataclass(frozen=True)
class Suggestion:
    definition: Definition
    hyperparameters: dict[str, str]  # the tuned ones, as strings


class Tuner:
    def __init__(self, spec: Mapping[str, Any], history: int = 0) -> None:
        """``history``: how many finished trials warm start will add before the first ask
        (they replace TPE's random start)."""
        self.definitions = definitions_of(spec)
        self.multiple = len(self.definitions) > 1
        config = spec["HyperParameterTuningJobConfig"]
        self.strategy = str(config["Strategy"])
        self.objective = self.definitions[0].objective
        seed = config.get("RandomSeed")
        self._trials: dict[str, optuna.trial.Trial] = {}
        self._reported: dict[str, int] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study = optuna.create_study(
                direction="maximize" if self.objective.maximize else "minimize",
                sampler=self._sampler(seed, history),
                pruner=self._pruner(config),
            )

    # --- construction --------------------------------------------------------------------------

    def _sampler(self, seed: int | None, history: int) -> optuna.samplers.BaseSampler:
        if self.strategy == "Random":
            return optuna.samplers.RandomSampler(seed=seed)
        if self.strategy == "Grid":
            definition = self.definitions[0]
            space = {r.name: list(r.values) for r in definition.ranges}
            return _GridSampler(space, seed=seed)
        return optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            group=self.multiple,
            constant_liar=True,
            n_startup_trials=max(0, STARTUP_TRIALS - history),
        )

    def _pruner(self, config: Mapping[str, Any]) -> optuna.pruners.BasePruner:
        if self.strategy == "Hyperband":
            static = self.definitions[0].static
            return optuna.pruners.HyperbandPruner(
                min_resource=min_resource(config),
                max_resource=max_resource(config, static) or "auto",
                reduction_factor=3,
            )
        if config.get("TrainingJobEarlyStoppingType") == "Auto":
            return optuna.pruners.MedianPruner(
                n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=2
            )
        return optuna.pruners.NopPruner()

    # --- new children -------------------------------------------------------------------------

    def suggest(self) -> tuple[optuna.trial.Trial, Suggestion]:
        """A new trial: its definition and tuned hyperparameters. :meth:`bind` it to the
        child created for it."""
        trial = self.study.ask()
        return trial, self._sample(trial)

    def bind(self, child: str, trial: optuna.trial.Trial) -> None:
        self._trials[child] = trial
        self._reported[child] = 0

    def _sample(self, trial: optuna.trial.Trial) -> Suggestion:
        definition = self.definitions[0]
        if self.multiple:
            names = [str(d.name) for d in self.definitions]
            chosen = trial.suggest_categorical(DEFINITION, names)
            definition = self.definitions[names.index(str(chosen))]
        tuned = {}
        for r in definition.ranges:
            value = _suggest(trial, definition.param(r.name, self.multiple), r.distribution())
            tuned[r.name] = r.hyperparameter(value)
        return Suggestion(definition, tuned)

    # --- running children ---------------------------------------------------------------------

    def report(self, child: str, values: Sequence[float]) -> bool:
        """Give the child's intermediate objective values so far (one per epoch); True when
        the pruner says it should stop."""
        trial = self._trials.get(child)
        if trial is None:
            return False
        done = self._reported.get(child, 0)
        if len(values) <= done:
            return False
        for step in range(done, len(values)):
            trial.report(values[step], step + 1)
        self._reported[child] = len(values)
        return bool(trial.should_prune())

    def discard(self, trial: optuna.trial.Trial) -> None:
        """A trial asked for but never run."""
        self.study.tell(trial, state=TrialState.FAIL)

    def finish(self, child: str, value: float | None, *, pruned: bool = False) -> None:
        trial = self._trials.pop(child, None)
        self._reported.pop(child, None)
        if trial is None:
            return
        if pruned:
            self.study.tell(trial, state=TrialState.PRUNED)
        elif value is None:
            self.study.tell(trial, state=TrialState.FAIL)
        else:
            self.study.tell(trial, value)

    # --- history (a restart, warm start) ------------------------------------------------------

    def params_of(
        self, definition_name: str | None, tuned: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """The optimizer's parameters for a child's tuned hyperparameters; None when they do
        not fit this search space."""
        definition = self._definition(definition_name)
        if definition is None:
            return None
        params: dict[str, Any] = {}
        if self.multiple:
            params[DEFINITION] = definition.name
        for r in definition.ranges:
            if r.name not in tuned:
                return None
            value = r.internal(str(tuned[r.name]))
            if value is None:
                return None
            params[definition.param(r.name, self.multiple)] = value
        return params

    def add_finished(
        self,
        params: Mapping[str, Any],
        value: float | None,
        intermediate: Sequence[float],
        *,
        pruned: bool = False,
    ) -> None:
        state = (
            TrialState.PRUNED
            if pruned
            else TrialState.COMPLETE
            if value is not None
            else TrialState.FAIL
        )
        self.study.add_trial(
            optuna.trial.create_trial(
                params=dict(params),
                distributions=self._distributions(params),
                value=value if state == TrialState.COMPLETE else None,
                intermediate_values={i + 1: v for i, v in enumerate(intermediate)},
                state=state,
            )
        )

    def resume(self, child: str, params: Mapping[str, Any], intermediate: Sequence[float]) -> None:
        """A child still running after a restart gets a live trial with its parameters."""
        self.study.enqueue_trial(dict(params), skip_if_exists=False)
        trial = self.study.ask()
        self._sample(trial)
        self.bind(child, trial)
        self.report(child, intermediate)

    def _definition(self, name: str | None) -> Definition | None:
        if not self.multiple:
            return self.definitions[0]
        return next((d for d in self.definitions if d.name == name), None)

    def _distributions(self, params: Mapping[str, Any]) -> dict[str, BaseDistribution]:
        out: dict[str, BaseDistribution] = {}
        definition = self.definitions[0]
        if self.multiple:
            names = [d.name for d in self.definitions]
            out[DEFINITION] = CategoricalDistribution(names)
            definition = self.definitions[names.index(params[DEFINITION])]
        for r in definition.ranges:
            out[definition.param(r.name, self.multiple)] = r.distribution()
        return out


class _GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid, minus its ``study.stop()`` once every point is visited: that works
    only inside ``study.optimize``, and here the controller knows the number of
    combinations (MaxNumberOfTrainingJobs) and stops asking."""

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        return


def _suggest(trial: optuna.trial.Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
    assert isinstance(dist, FloatDistribution)
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log)
