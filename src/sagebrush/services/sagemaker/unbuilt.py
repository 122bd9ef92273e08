"""SageMaker resource kinds Sagebrush cannot create yet, answered from botocore's model.

No resource of such a kind can exist here, so its ``List*`` truthfully answers an empty
list (the output shape's one list member, no ``NextToken``) and its ``Describe*`` the error
SageMaker gives for a missing resource: ``ResourceNotFound`` where the operation declares
it, else ``ValidationException`` ("Could not find ..."). A list of a parent's children
(``ListAliases(ImageName)``, ``ListPipelineExecutions(PipelineName)``...) answers that the
parent is missing. Everything else about those kinds — Create, Update, Delete, Start,
Stop... — stays ``NotImplemented``, and so does any List or Describe of a kind that *can*
be created (its operations must be real).

The SDK's clean-up paths depend on this: ``predictor.list_monitors()`` lists monitoring
schedules before an endpoint is deleted, and gave up on ``NotImplemented``.

Input is validated against the model by the gateway before any of this runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import Any, Literal, NoReturn

from botocore import xform_name
from botocore.model import OperationModel, ServiceModel

from sagebrush.aws.errors import AwsError
from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import SageMakerBase

# Operations that bring a resource of their kind into being.
_CREATORS = ("Create", "Register", "Add", "Import", "Start")
# Input members that name a resource.
_NAMING = ("Name", "Arn", "Id", "Identifier")
_WORD = re.compile(r"AutoML|[A-Z]+(?=[A-Z][a-z]|$)|[A-Z][a-z0-9]*|[a-z0-9]+")

Answer = Literal["empty", "missing"]
Handler = Callable[..., dict[str, Any]]


class UnbuiltKinds:
    """The List*/Describe* answers of a model's kinds that none of ``implemented`` creates."""

    def __init__(self, model: ServiceModel, implemented: frozenset[str]) -> None:
        self.model = model
        self.implemented = implemented
        self.creatable = {
            kind
            for op in implemented
            for verb in _CREATORS
            if op.startswith(verb)
            for kind in _singulars(op[len(verb) :])
        }

    def buildable(self, kind: str) -> bool:
        """Whether an implemented operation creates resources of ``kind``."""
        return bool(_singulars(kind) & self.creatable)

    def plan(self) -> dict[str, Answer]:
        """Every operation answered here, and how."""
        out: dict[str, Answer] = {}
        for name in self.model.operation_names:
            found = self._answer(name)
            if found is not None:
                out[name] = found[0]
        return out

    def handler(self, operation: str) -> Handler | None:
        found = self._answer(operation)
        return found[1] if found is not None else None

    def _answer(self, name: str) -> tuple[Answer, Handler] | None:
        if name in self.implemented or name not in self.model.operation_names:
            return None
        operation = self.model.operation_model(name)
        if name.startswith("List"):
            return self._list(operation)
        if name.startswith("Describe"):
            return self._describe(operation)
        return None

    def _list(self, operation: OperationModel) -> tuple[Answer, Handler] | None:
        parents = _naming_members(operation)
        if parents:
            # The children of one resource: that resource cannot exist.
            if any(self.buildable(_stem(member)) for member in parents):
                return None
            member = self._best(parents, "")
            return "missing", _missing(operation, member, _stem(member))
        if self.buildable(operation.name[len("List") :]):
            return None  # a kind that can be created is listed by a real method
        shape = operation.output_shape
        if shape is None:
            return None
        listed = [name for name, member in shape.members.items() if member.type_name == "list"]
        if len(listed) != 1 or set(shape.required_members) - set(listed):
            return None
        member = listed[0]

        def answer(ctx: RequestContext, **members: Any) -> dict[str, Any]:
            return {member: []}

        return "empty", answer

    def _describe(self, operation: OperationModel) -> tuple[Answer, Handler] | None:
        kind = operation.name[len("Describe") :]
        if self.buildable(kind):
            return None
        named = _naming_members(operation)
        member = self._best(named, kind) if named else None
        stem = _stem(member) if member else ""
        # "JobDefinitionName" of DescribeDataQualityJobDefinition names the kind itself.
        return "missing", _missing(operation, member, kind if kind.endswith(stem) else stem)

    def _best(self, members: list[str], kind: str) -> str:
        """The member naming the missing resource: the operation's own kind, else one
        naming a kind the model describes (the parent), else the first."""
        for member in members:
            if kind.endswith(_stem(member)):
                return member
        for member in members:
            if f"Describe{_stem(member)}" in self.model.operation_names:
                return member
        return members[0]


class UnbuiltOperations(SageMakerBase):
    """The provider mixin: registry dispatch asks it for operations no method implements."""

    def derived(self, operation: str) -> Callable[..., Any] | None:
        return self._unbuilt.handler(operation)

    @cached_property
    def _unbuilt(self) -> UnbuiltKinds:
        return unbuilt_kinds(self.runtime.catalog.model(self.service), type(self))


def unbuilt_kinds(model: ServiceModel, provider: type) -> UnbuiltKinds:
    implemented = frozenset(
        name
        for name in model.operation_names
        if callable(getattr(provider, xform_name(name), None))
    )
    return UnbuiltKinds(model, implemented)


def _missing(operation: OperationModel, member: str | None, stem: str) -> Handler:
    declared = {shape.name for shape in operation.error_shapes}
    code = "ResourceNotFound" if "ResourceNotFound" in declared else "ValidationException"
    words = _words(stem) or "resource"
    key = xform_name(member) if member else None

    def answer(ctx: RequestContext, **members: Any) -> NoReturn:
        value = members.get(key) if key else None
        raise AwsError(code, _message(code, words, value), 400)

    return answer


def _message(code: str, words: str, value: Any) -> str:
    if code == "ResourceNotFound":
        subject = f"{words[:1].upper()}{words[1:]}"
        return f"{subject} '{value}' does not exist." if value else f"{subject} does not exist."
    return f"Could not find {words} '{value}'." if value else f"Could not find {words}."


def _naming_members(operation: OperationModel) -> list[str]:
    """Required string members that name a resource (not enums such as ``AppType``)."""
    shape = operation.input_shape
    if shape is None:
        return []
    return [
        name
        for name in shape.required_members
        if name.endswith(_NAMING)
        and shape.members[name].type_name == "string"
        and not shape.members[name].enum
    ]


def _stem(member: str) -> str:
    for suffix in _NAMING:
        if member.endswith(suffix):
            return member[: -len(suffix)]
    return member


def _singulars(name: str) -> set[str]:
    """``name`` and what it is the plural of (``Devices``, ``Aliases``, ``Policies``)."""
    out = {name}
    if name.endswith("ies"):
        out.add(name[:-3] + "y")
    if name.endswith("es"):
        out.add(name[:-2])
    if name.endswith("s"):
        out.add(name[:-1])
    return out


def _words(kind: str) -> str:
    """``MonitoringSchedule`` -> ``monitoring schedule`` (acronyms kept: ``AI benchmark job``)."""
    parts = _WORD.findall(kind)
    return " ".join(p if p.isupper() or p == "AutoML" else p.lower() for p in parts)
