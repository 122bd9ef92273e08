"""The subset of CloudWatch Logs filter patterns Sagebrush matches.

Supported, as in CloudWatch Logs (terms are case-sensitive and match anywhere in the
message):

- empty pattern, ``""`` or ``" "``: every event;
- ``ERROR`` / ``"Exception: timeout"``: a term or quoted phrase; several must all appear
  (``ERROR timeout``);
- ``?ERROR ?WARN``: at least one of the ``?`` terms must appear;
- ``-DEBUG`` / ``-"health check"``: the term must not appear;
- ``%regex%``: a regular expression (Python's ``re``, close to CloudWatch's subset).

JSON patterns (``{ $.level = "error" }``) and space-delimited ones (``[ip, user, ...]``) are
not supported and are refused with InvalidParameterException rather than matched wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sagebrush.aws.errors import AwsError

Matcher = Callable[[str], bool]

_TERM = re.compile(r'\s*([?-]?)(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))')


@dataclass(frozen=True)
class _Terms:
    required: tuple[str, ...]
    any_of: tuple[str, ...]
    excluded: tuple[str, ...]

    def __call__(self, message: str) -> bool:
        return (
            all(t in message for t in self.required)
            and (not self.any_of or any(t in message for t in self.any_of))
            and not any(t in message for t in self.excluded)
        )


def compile_pattern(pattern: str | None) -> Matcher | None:
    """A predicate over messages, or None when every event matches."""
    text = (pattern or "").strip()
    if not text or text == '""':
        return None
    if text[0] in "{[":
        raise _invalid("JSON and space-delimited filter patterns are not supported by Sagebrush")
    if len(text) > 1 and text[0] == "%" and text[-1] == "%":
        try:
            regex = re.compile(text[1:-1])
        except re.error as exc:
            raise _invalid(f"Invalid regular expression: {exc}") from None
        return lambda message: regex.search(message) is not None
    required: list[str] = []
    any_of: list[str] = []
    excluded: list[str] = []
    at = 0
    while at < len(text):
        found = _TERM.match(text, at)
        if found is None or found.end() == at:
            raise _invalid("Invalid character(s) in term")
        at = found.end()
        op, quoted, word = found.groups()
        term = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else word
        {"?": any_of, "-": excluded}.get(op, required).append(term)
        if text[at:].strip() == "":
            break
    return _Terms(tuple(required), tuple(any_of), tuple(excluded))


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)
