"""User gates: the operator's own drop rules, as YAML rules or a small Python class. They run after the built-in
compliance and time gates, before pii; a drop's reason is `gate:<name>` and its detail says what fired.

    gates:
      - name: no_drafts
        drop_if:
          any:
            - {contains: DRAFT}                                # substring, case-sensitive unless ignore_case: true
            - {regex: '(?i)\\bdo not (?:circulate|distribute)\\b'}
            - {meta: {field: status, equals: draft}}           # meta.status == "draft"; `one_of: [a, b]` also works
      - name: long_tables
        python: my_project.gates:TableGate                    # importable `module:Class`
        options: {max_pipes: 200}                              # passed as keyword arguments to the class

Rules combine with `any: [...]`, `all: [...]` and `not: {...}`. A Python gate implements the `UserGate`
protocol: `check(text, meta) -> str | None` returns why to drop (the detail) or None to keep. A class that cannot
be imported, lacks `check` or does not take the given options, and a bad rule, fail at config load under their YAML
path (`gates.1.python: cannot import 'my_project.gates:TableGate': No module named 'my_project'`).
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from steep.curate.block import Block, DropSink
from steep.curate.document import Document, Drop
from steep.schema import Regex, StrictModel

_DETAIL_CHARS = 200


@runtime_checkable
class UserGate(Protocol):
    """A Python gate: built once per stage as `Class(**options)`, then asked about every document."""

    def check(self, text: str, meta: dict[str, Any]) -> str | None:
        """Why to drop this document (a short human detail), or None to keep it."""
        ...


class MetaRule(StrictModel):
    """Compare `meta[field]` (dotted for nested: `source.kind`); exactly one of equals / one_of / regex."""

    field: str = Field(min_length=1)
    equals: Any = None
    one_of: list[Any] | None = None
    regex: Regex | None = None

    @model_validator(mode="after")
    def _one_test(self) -> MetaRule:
        given = [k for k in ("equals", "one_of", "regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a meta rule needs exactly one of equals, one_of, regex (got {given or 'none'})")
        return self


class Rule(StrictModel):
    """One test on a document: exactly one of contains / regex / meta / any / all / not."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, populate_by_name=True)  # `not`

    contains: str | None = Field(default=None, min_length=1)
    regex: Regex | None = None
    meta: MetaRule | None = None
    any: list[Rule] | None = Field(default=None, min_length=1)
    all: list[Rule] | None = Field(default=None, min_length=1)
    not_: Rule | None = Field(default=None, alias="not")
    ignore_case: bool = False  # for contains / regex

    @model_validator(mode="after")
    def _one_test(self) -> Rule:
        given = [
            k.rstrip("_") for k in ("contains", "regex", "meta", "any", "all", "not_") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"a rule needs exactly one of contains, regex, meta, any, all, not (got {', '.join(given) or 'none'})"
            )
        return self


class UserGateConfig(StrictModel):
    """One user gate: `name` plus either `drop_if` (YAML rules) or `python` (`module:Class`) with `options`."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    drop_if: Rule | None = None
    python: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> UserGateConfig:
        if (self.drop_if is None) == (self.python is None):
            raise ValueError(f"gate {self.name!r} needs exactly one of drop_if (YAML rules) or python (module:Class)")
        if self.options and self.python is None:
            raise ValueError(f"gate {self.name!r}: options are for python gates")
        if self.python is not None:
            cls = import_gate_class(self.python)
            try:
                inspect.signature(cls).bind(**self.options)
            except TypeError as err:
                raise ValueError(f"{self.python} does not take options {sorted(self.options)}: {err}") from None
        return self


def import_gate_class(spec: str) -> type:
    """The class named by `package.module:ClassName`; ValueError (reported under the YAML path) if it is not one."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"python gate {spec!r} must look like 'package.module:ClassName'")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import {spec!r}: {err}") from None
    if not inspect.isclass(cls) or not callable(getattr(cls, "check", None)):
        raise ValueError(f"{spec!r} is not a class with a check(text, meta) method")
    return cls


def _unique_names(gates: list[UserGateConfig]) -> list[UserGateConfig]:
    names = [g.name for g in gates]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate gate names: {', '.join(dupes)} (a drop's reason is gate:<name>)")
    return gates


UserGates = Annotated[list[UserGateConfig], AfterValidator(_unique_names)]


class _RuleGate:
    """A `UserGate` made of YAML rules; the detail names the rule that fired and where."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._regexes: dict[int, re.Pattern[str]] = {}

    def check(self, text: str, meta: dict[str, Any]) -> str | None:
        return self._fires(self.rule, text, meta)

    def _fires(self, rule: Rule, text: str, meta: dict[str, Any]) -> str | None:
        if rule.contains is not None:
            at = text.lower().find(rule.contains.lower()) if rule.ignore_case else text.find(rule.contains)
            return f"contains {rule.contains!r} at char {at}" if at >= 0 else None
        if rule.regex is not None:
            m = self._compiled(rule).search(text)
            return f"regex {rule.regex!r} matched {m.group(0)[:_DETAIL_CHARS]!r} at char {m.start()}" if m else None
        if rule.meta is not None:
            return _meta_fires(rule.meta, meta)
        if rule.any is not None:
            return next((d for d in (self._fires(r, text, meta) for r in rule.any) if d is not None), None)
        if rule.all is not None:
            details = []
            for r in rule.all:
                detail = self._fires(r, text, meta)
                if detail is None:
                    return None
                details.append(detail)
            return " and ".join(details)
        assert rule.not_ is not None
        return "not (" + _describe(rule.not_) + ")" if self._fires(rule.not_, text, meta) is None else None

    def _compiled(self, rule: Rule) -> re.Pattern[str]:
        regex = self._regexes.get(id(rule))
        if regex is None:
            regex = self._regexes[id(rule)] = re.compile(rule.regex or "", re.IGNORECASE if rule.ignore_case else 0)
        return regex


def _meta_fires(rule: MetaRule, meta: dict[str, Any]) -> str | None:
    value: Any = meta
    for key in rule.field.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if rule.equals is not None and value == rule.equals:
        return f"meta.{rule.field} == {value!r}"
    if rule.one_of is not None and value in rule.one_of:
        return f"meta.{rule.field} {value!r} in {rule.one_of!r}"
    if rule.regex is not None and value is not None and re.search(rule.regex, str(value)):
        return f"meta.{rule.field} {value!r} matches {rule.regex!r}"
    return None


def _describe(rule: Rule) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in rule.model_dump(by_alias=True, exclude_none=True).items())


class UserGatesBlock(Block):
    """Runs the configured user gates in order; the first that objects drops the document as `gate:<name>`."""

    name = "gates"

    def __init__(self, gates: list[UserGateConfig], on_drop: DropSink | None = None) -> None:
        super().__init__(on_drop)
        self.gates: list[tuple[str, UserGate]] = []
        for gate in gates:
            impl = (
                _RuleGate(gate.drop_if)
                if gate.drop_if is not None
                else import_gate_class(gate.python or "")(**gate.options)
            )
            self.gates.append((gate.name, impl))

    def apply(self, doc: Document) -> Document | Drop:
        for name, gate in self.gates:
            detail = gate.check(doc.text, doc.meta)
            if detail is not None:
                return Drop(f"gate:{name}", str(detail)[:_DETAIL_CHARS] or "dropped")
        return doc
