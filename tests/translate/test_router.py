"""Route choice: test backends for the ranking rules, the real Apertium for the pivots."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from polynews.config import defaults
from polynews.errors import ConfigError
from polynews.translate.apertium import ApertiumBackend
from polynews.translate.base import BackendKind, Direction
from polynews.translate.router import Router, parse_preferences
from polynews.translate.translator import Translator, render_coverage


class TableBackend:
    """A backend for router tests only: declares directions, tags segments with its name."""

    def __init__(self, name: str, kind: BackendKind, directions: set[Direction]) -> None:
        self.name = name
        self.version = "1"
        self.kind = kind
        self._directions = directions

    def directions(self) -> set[Direction]:
        return self._directions

    def translate(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        return [f"{s}[{self.name}:{source}>{target}]" for s in segments]


def test_direct_neural_beats_direct_rule_whatever_the_order() -> None:
    rule = TableBackend("rules", "rule", {("fr", "en")})
    neural = TableBackend("nmt", "neural", {("fr", "en")})
    route = Router([rule, neural]).route("fr", "en")
    assert route is not None and route.label == "nmt fr→en" and route.pivot is None


def test_same_kind_follows_backend_order() -> None:
    a = TableBackend("a", "neural", {("fr", "en")})
    b = TableBackend("b", "neural", {("fr", "en")})
    assert Router([b, a]).route("fr", "en").label == "b fr→en"  # type: ignore[union-attr]


def test_direct_rule_beats_any_pivot() -> None:
    rule = TableBackend("rules", "rule", {("fr", "en")})
    neural = TableBackend("nmt", "neural", {("fr", "es"), ("es", "en")})
    assert Router([neural, rule]).route("fr", "en").label == "rules fr→en"  # type: ignore[union-attr]


def test_pivot_prefers_better_hops_then_pivot_order() -> None:
    rule = TableBackend("rules", "rule", {("fr", "es"), ("es", "en"), ("fr", "ca"), ("ca", "en")})
    neural = TableBackend("nmt", "neural", {("fr", "ca"), ("ca", "en")})
    route = Router([rule, neural], pivots=["es", "ca"]).route("fr", "en")
    assert route is not None and route.pivot == "ca" and route.label == "nmt fr→ca→en"
    only_rule = Router([rule], pivots=["es", "ca"]).route("fr", "en")
    assert only_rule is not None and only_rule.pivot == "es"
    assert only_rule.translate(["x"]) == ["x[rules:fr>es][rules:es>en]"]


def test_mixed_route_label_names_each_hop() -> None:
    a = TableBackend("a", "neural", {("uk", "en")})
    b = TableBackend("b", "rule", {("en", "es")})
    route = Router([a, b], pivots=["en"]).route("uk", "es")
    assert route is not None and route.label == "a uk→en + b en→es" and route.engine == "a+b"


def test_preferences_pick_or_forbid_the_pivot() -> None:
    rule = TableBackend("rules", "rule", {("fr", "es"), ("es", "en"), ("fr", "ca"), ("ca", "en")})
    prefs = parse_preferences(["fr-en:ca", "en-fr:"])
    router = Router([rule, TableBackend("r2", "rule", {("en", "es"), ("es", "fr")})],
                    pivots=["es", "ca"], preferences=prefs)  # fmt: skip
    assert router.route("fr", "en").pivot == "ca"  # type: ignore[union-attr]
    assert router.route("en", "fr") is None
    with pytest.raises(ConfigError, match="fr-en:ca"):
        parse_preferences(["fr>en"])


def test_preferred_pivot_replaces_a_direct_rule_pair_only() -> None:
    hops = {("fr", "ca"), ("ca", "es")}
    rule = TableBackend("rules", "rule", {("fr", "es"), *hops})
    prefs = parse_preferences(["fr-es:ca"])
    route = Router([rule], preferences=prefs).route("fr", "es")
    assert route is not None and route.label == "rules fr→ca→es"
    keep = parse_preferences(["fr-es:"])  # an operator may keep the direct pair
    assert Router([rule], preferences=keep).route("fr", "es").label == "rules fr→es"  # type: ignore[union-attr]
    assert Router([rule]).route("fr", "es").label == "rules fr→ca→es"  # type: ignore[union-attr]
    neural = TableBackend("nmt", "neural", {("fr", "es")})
    route = Router([rule, neural], preferences=prefs).route("fr", "es")
    assert route is not None and route.label == "nmt fr→es"
    # A pivot whose hops are worse than the direct engine never replaces it.
    mixed = [TableBackend("r", "rule", hops), TableBackend("llm", "llm", {("fr", "es")})]
    route = Router(mixed, preferences=prefs).route("fr", "es")
    assert route is not None and route.label == "llm fr→es"


def test_builtin_table_holds_measured_choices_only() -> None:
    rule = TableBackend(
        "rules", "rule", {(a, b) for a in ("en", "es", "ca", "fr") for b in ("es", "ca", "en")}
    )
    router = Router([rule], pivots=["es", "ca"])
    assert router.route("fr", "en").pivot == "es"  # type: ignore[union-attr]
    assert router.route("en", "fr") is None  # no en->ca->fr hop here: nothing to fall back on
    assert router.route("en", "es").pivot is None  # type: ignore[union-attr]


def test_nothing_to_nothing() -> None:
    router = Router([TableBackend("a", "rule", {("fr", "es")})])
    assert router.route("de", "en") is None
    assert router.route("fr", "fr") is None


@pytest.mark.apertium
def test_apertium_covers_twelve_of_thirty_site_directions(apertium: ApertiumBackend) -> None:
    router = Router([apertium], pivots=["es", "ca"])
    table = router.coverage(["en", "es", "de", "fr", "it", "uk"])
    covered = {d: r.label for d, r in table.items() if r is not None}
    assert len(table) == 30 and len(covered) == 12
    assert covered[("fr", "en")] == "apertium fr→es→en"
    assert covered[("en", "es")] == "apertium en→es"
    assert covered[("it", "fr")] == "apertium it→ca→fr"  # the measured table
    assert covered[("fr", "it")] == "apertium fr→ca→it"
    assert covered[("it", "en")] == "apertium it→es→en"
    assert not any("de" in d or "uk" in d for d in covered)


@pytest.mark.apertium
def test_render_coverage_shows_routes_and_gaps(apertium: ApertiumBackend) -> None:
    settings = defaults()
    text = render_coverage(
        settings, translator=Translator.from_settings(settings, backends=[apertium])
    )
    assert "| fr |" in text and "apertium fr→es→en" in text and "no engine" in text
    assert "12 of 30 directions covered" in text
    # Russian is a common source language: its row shows ru→uk, outside the site's count.
    if ("ru", "uk") in apertium.directions():
        ru_row = next(line for line in text.splitlines() if line.startswith("| ru* |"))
        assert ru_row.endswith("| apertium ru→uk |")
        assert "ru: source language" in text and "1 of 6 directions from it" in text
    none = render_coverage(
        settings.replace(source_languages=()),
        translator=Translator.from_settings(settings, backends=[apertium]),
    )
    assert "| ru* |" not in none and "source language" not in none


class ChainingBackend(TableBackend):
    """A table backend that also chains hops, recording how it was called."""

    def __init__(self, name: str, kind: BackendKind, directions: set[Direction]) -> None:
        super().__init__(name, kind, directions)
        self.chains: list[list[Direction]] = []

    def translate_chain(self, segments: Sequence[str], hops: Sequence[Direction]) -> list[str]:
        self.chains.append(list(hops))
        out = list(segments)
        for source, target in hops:
            out = self.translate(out, source, target)
        return out


def test_hops_on_one_chaining_backend_go_in_one_call() -> None:
    rules = ChainingBackend("rules", "rule", {("fr", "es"), ("es", "en")})
    route = Router([rules], pivots=["es"]).route("fr", "en")
    assert route is not None
    assert route.translate(["a", "b"]) == [
        "a[rules:fr>es][rules:es>en]",
        "b[rules:fr>es][rules:es>en]",
    ]
    assert rules.chains == [[("fr", "es"), ("es", "en")]]
    # Hops on different backends are called one by one, whatever they can do.
    neural = ChainingBackend("nmt", "neural", {("fr", "es")})
    mixed = Router([neural, rules], pivots=["es"]).route("fr", "en")
    assert mixed is not None and mixed.label == "nmt fr→es + rules es→en"
    assert mixed.translate(["a"]) == ["a[nmt:fr>es][rules:es>en]"]
    assert neural.chains == [] and len(rules.chains) == 1


@pytest.mark.apertium
def test_apertium_pivot_route_matches_hop_by_hop(apertium: ApertiumBackend) -> None:
    route = Router([apertium], pivots=["es"]).route("fr", "en")
    assert route is not None and route.pivot == "es"
    text = ["Le gouvernement a annoncé une hausse du budget.", "", "Il pleuvait."]
    by_hop = apertium.translate(apertium.translate(text, "fr", "es"), "es", "en")
    assert route.translate(text) == by_hop
