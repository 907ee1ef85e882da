"""Input the API could not read, said in words: "Line 1 debit must be text or a whole number",
not the schema library's "lines.0.debit.str: Input should be a valid string".

The `errors` map keys each field by its dotted path, counting list items from 1 as the services
do ("lines.1.debit" is the first line's debit), so one request's problems read alike whether the
schema or a service found them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# What a value of each kind is, in words. The keys are pydantic's names for kinds: the first
# word of an error's type ("int_parsing", "date_from_datetime_parsing"), and the tag at the end
# of a location that says which member of a union failed ("lines.0.debit.str"). Longer names
# first, so "datetime" is not read as "date".
_KINDS = {
    "datetime": "a date and time such as 2026-11-30T09:00",
    "date": "a date such as 2026-11-30",
    "time": "a time such as 09:30",
    "string": "text",
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "decimal": "an amount such as 40.00",
    "bool": "true or false",
    "none": "null",
    "list": "a list",
    "dict": "an object",
    "model": "an object",
    "uuid": "a UUID",
    "url": "a URL",
}
# The tags a union's members carry (a kind's name alone, never a field's).
_UNION_MEMBERS = (
    "str",
    "int",
    "float",
    "decimal",
    "bool",
    "date",
    "datetime",
    "none",
    "list",
    "dict",
)
_PREDICATES = ("must ", "is ", "may ", "should ")
_ENVELOPE = {"body", "query", "path", "payload", "form", "header", "cookie"}


def _wanted(error: Mapping[str, Any]) -> str:
    """What the field must be, in words, for one pydantic error."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field here"
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must be at least {least} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"may hold at most {ctx.get('max_length')} items"
    if kind == "too_short":
        return f"must hold at least {ctx.get('min_length')} items"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected', 'the values listed')}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), "")
        bounds = {
            "greater_than": "more than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }
        return f"must be {bounds[kind]} {bound}"
    if kind == "json_invalid":
        return "is not valid JSON"
    for prefix, kind_words in _KINDS.items():
        if kind.startswith(prefix):
            return f"must be {kind_words}"
    message = str(error.get("msg", "is not valid")).strip().rstrip(".")
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _path(location: Iterable[Any]) -> list[str | int]:
    """The location without its envelope ("body", "payload"), list items counted from 1."""
    return [
        part + 1 if isinstance(part, int) else part for part in location if part not in _ENVELOPE
    ]


def _singular(plural: str) -> str:
    """A list field's name for one of its items: "lines" a line, "diagnoses" a diagnosis,
    "modifiers" a modifier; a name that is not a plural, "NAME item"."""
    if plural.endswith(("oses", "yses")):  # diagnoses, analyses
        return plural[:-2] + "is"
    if plural.endswith(("sses", "uses", "xes", "ches", "shes")):  # addresses, statuses
        return plural[:-2]
    if plural.endswith("ies") and len(plural) > 3:  # entries
        return plural[:-3] + "y"
    if plural.endswith("s") and len(plural) > 1:
        return plural[:-1]
    return f"{plural} item".strip()


def _spoken(path: list[str | int]) -> str:
    """`["lines", 1, "debit"]` as "line 1 debit"; a field's underscores as spaces."""
    words: list[str] = []
    for index, part in enumerate(path):
        if isinstance(part, int):
            before = words.pop() if words and isinstance(path[index - 1], str) else ""
            noun = _singular(before)
            words.append(f"{noun} {part}".strip())
        else:
            words.append(str(part).replace("_", " "))
    return " ".join(words) or "the input"


def schema_problems(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Each field's problems in words, keyed by its dotted path. A union's members failing
    one by one ("must be text", "must be a whole number") read as one: "must be text or a
    whole number"."""
    by_field: dict[tuple[str | int, ...], list[str]] = {}
    alternatives: dict[tuple[str | int, ...], list[str]] = {}
    for error in errors:
        path = _path(error.get("loc", ()))
        if len(path) > 1 and isinstance(path[-1], str) and path[-1] in _UNION_MEMBERS:
            alternatives.setdefault(tuple(path[:-1]), []).append(_KINDS[path[-1]])
            continue
        by_field.setdefault(tuple(path), []).append(_wanted(error))
    for where, kinds in alternatives.items():
        unique = list(dict.fromkeys(kinds))
        choice = unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " or " + unique[-1]
        by_field.setdefault(where, []).append(f"must be {choice}")
    return {".".join(str(p) for p in where) or "input": said for where, said in by_field.items()}


def sentence(problems: Mapping[str, list[str]]) -> str:
    """One sentence per field: "Line 1 debit must be text or a whole number."."""
    said = []
    for field, words in problems.items():
        parts: list[str | int] = [int(p) if p.isdigit() else p for p in field.split(".")]
        subject = _spoken(parts) if field != "input" else "the input"
        subject = subject[:1].upper() + subject[1:]
        for words_said in dict.fromkeys(words):
            if words_said.startswith(_PREDICATES):
                said.append(f"{subject} {words_said}.")
            else:  # a sentence of its own (a validator's message): after the field's name
                said.append(f"{subject}: {words_said[:1].upper()}{words_said[1:]}.")
    return " ".join(said) or "The input is not valid."
