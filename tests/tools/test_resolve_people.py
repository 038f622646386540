"""Person phrases → people: first names, nicknames, prefixes, bots, ambiguity, and no match."""

from __future__ import annotations

import pytest

from bbscout.tools.resolve import (
    BOT_CLASS,
    EXACT,
    NAME_PREFIX,
    NAME_WORDS,
    Person,
    PersonFilter,
    PersonMatcher,
    person_from_account,
    person_from_raw,
    resolve_person,
)

PEOPLE = [
    Person(name="Emma Lindqvist", nickname="emmal"),
    Person(name="Emma Stone", nickname="estone"),
    Person(name="Daniel Okafor", nickname="dokafor"),
    Person(name="Dan Smith", nickname="dsmith"),
    Person(name="Jordan Lee", nickname="jlee"),
    Person(name="Tomás Ribeiro", nickname="tribeiro"),
    Person(name="Liam O'Connor", nickname="liamoc"),
    Person(name="Renovate Bot", nickname="renovate-bot"),
    Person(name="Acme CI", nickname="acme-ci"),
    person_from_raw("dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"),
]


@pytest.mark.parametrize(
    "phrase, matches, ambiguous, rule",
    [
        ("Daniel Okafor", ["Daniel Okafor"], False, "exact name, nickname or email"),
        ("dokafor", ["Daniel Okafor"], False, "exact name, nickname or email"),
        ("@dokafor", ["Daniel Okafor"], False, "exact name, nickname or email"),
        ("Okafor", ["Daniel Okafor"], False, "first/last name or nickname"),
        ("Emma", ["Emma Lindqvist", "Emma Stone"], True, "first/last name or nickname"),
        ("Dan", ["Dan Smith"], False, "first/last name or nickname"),  # not Daniel, not Jordan
        ("Dani", ["Daniel Okafor"], False, "name prefix"),
        ("tomas", ["Tomás Ribeiro"], False, "first/last name or nickname"),  # accents folded
        ("oconnor", ["Liam O'Connor"], False, "first/last name or nickname"),
        ("liamoconnor", ["Liam O'Connor"], False, "exact name, nickname or email"),  # fused
        ("renovate", ["Renovate Bot"], False, "first/last name or nickname"),
        ("dependabot", ["dependabot[bot]"], False, "first/last name or nickname"),
        ("the dependency bot", ["Renovate Bot", "dependabot[bot]"], False, "bot accounts"),
        ("bots", ["Acme CI", "Renovate Bot", "dependabot[bot]"], False, "bot accounts"),
    ],
)
def test_resolve_person(phrase: str, matches: list[str], ambiguous: bool, rule: str) -> None:
    res = resolve_person(phrase, PEOPLE)
    assert (res.matches, res.ambiguous, res.rule) == (matches, ambiguous, rule)


def test_no_match_lists_closest_and_bots_first() -> None:
    people = [p for p in PEOPLE if "dependabot" not in p.name]
    res = resolve_person("dependabot", people)
    assert res.matches == [] and not res.ambiguous
    assert res.alternatives[:2] == ["Acme CI", "Renovate Bot"]  # the bots that do exist come first
    assert resolve_person("Zed", PEOPLE).alternatives  # always something to offer


def test_accounts_and_raw_authors_are_one_person() -> None:
    member = person_from_account({"display_name": "Tomás Ribeiro", "nickname": "tribeiro", "uuid": "{1}"})
    raw = person_from_raw("Tomás Ribeiro <tomas.ribeiro@acme-commerce.com>")
    assert member.key == raw.key
    assert PersonMatcher("tomas.ribeiro@acme-commerce.com").tier(raw) == EXACT
    assert person_from_account({"display_name": "Deploy", "type": "app_user"}).is_bot
    assert not Person(name="Abbot Smith").is_bot  # "bot" inside a word is not a bot


def test_filter_keeps_only_the_best_tier_and_reports_ambiguity() -> None:
    f = PersonFilter("Dan", "author")
    items = [[PEOPLE[2]], [PEOPLE[3]], [PEOPLE[4]], [PEOPLE[0]]]  # Daniel, Dan, Jordan, Emma
    offered = [f.offer(people) for people in items]
    assert offered == [True, True, True, False]  # Jordan is a fragment match while reading
    f.settle()
    assert f.best == NAME_WORDS and [f.keeps(p) for p in items] == [False, True, False, False]
    note, gap = f.describe()
    assert "Dan Smith" in note and gap is None

    g = PersonFilter("emma", "reviewer")
    for people in ([PEOPLE[0]], [PEOPLE[1], PEOPLE[2]]):
        g.offer(people)
    g.settle()
    note, gap = g.describe()
    assert g.ambiguous and gap is not None and "Emma Lindqvist, Emma Stone" in gap

    h = PersonFilter("dependabot", "author")
    h.offer([PEOPLE[7]])
    h.settle()
    note, gap = h.describe()
    assert h.best is None and "no one by that name" in note and "Renovate Bot" in note


def test_tiers_order() -> None:
    assert EXACT < NAME_WORDS < BOT_CLASS < NAME_PREFIX
    assert PersonMatcher("the").tier(PEOPLE[0]) is None  # stop words only: matches nobody
    assert PersonMatcher("Dan").tier(PEOPLE[2]) == NAME_PREFIX
