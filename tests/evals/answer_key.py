"""What makes a held-out set a fair answer key, shared by the sets that are graded by the oracle alone.

Every case loads and has an oracle answer (empty only where it says so); dropping any constraint a
question states changes that answer, so an answer that silently ignores it cannot pass; a document a
careful engineer would write from the right refs passes the graders, and one written from the refs of a
constraint dropped fails them. Each set's test module keeps its own cases, its IMPLIED exceptions (a
constraint another one implies: a branch that exists in one repository only) and its pinned facts.
"""

from __future__ import annotations

from typing import Any

from bbscout.evals.case import Case, OracleQuery
from bbscout.evals.oracle import answer, ref_type, scenario_refs
from bbscout.evals.runner import get_world, grade_turn

Implied = set[tuple[str, str]]

# Every field a question can constrain, with its "not asked" value. Dropping one must change the answer.
CONSTRAINTS: dict[str, Any] = {
    "repos": None,
    "window": None,
    "since": None,
    "results": None,
    "states": None,
    "branch": None,
    "trigger": None,
    "pr_states": None,
    "author": None,
    "target": None,
    "awaiting_review": False,
    "path": None,
    "stale_days": None,
    "environment": None,
    "latest": False,
    "statuses": None,
    "name_contains": None,
    "reviewer": None,
    "approver": None,
    "participant": None,
    "text": None,
    "touched_path": None,
    "landed": False,
    "current": False,
    "exclude_main": False,
    "limit": None,
    "pick": None,
}
# queries whose answer is not a set of refs a constraint narrows
_NOT_NARROWED = ("code", "file", "scenario")

_NOUN = {
    "pipeline": ("pipeline", "pipelines"),
    "pull_request": ("pull request", "pull requests"),
    "commit": ("commit", "commits"),
    "deployment": ("deployment", "deployments"),
    "branch": ("branch", "branches"),
    "file": ("file", "files"),
    "repository": ("repository", "repositories"),
}


def world_of(case: Case) -> Any:
    return get_world(case.world, case.seed, case.anchor)


def expected_query(case: Case) -> OracleQuery | None:
    """The query whose answer the case grades (for `kind: about`, the query selecting the referent)."""
    q = case.expect.oracle
    if q is not None and q.kind == "about":
        return q.of
    return q


def refs(case: Case, q: OracleQuery) -> list[str]:
    return answer(world_of(case), q, case.now, case.tz).refs


def relaxed(case: Case, implied: Implied) -> list[tuple[str, OracleQuery]]:
    """The case's query without each constraint it states, one at a time (implied ones left alone)."""
    q = expected_query(case)
    if q is None or q.kind in _NOT_NARROWED:
        return []
    return [
        (name, q.model_copy(update={name: unset}))
        for name, unset in CONSTRAINTS.items()
        if name in q.model_fields_set and getattr(q, name) != unset and (case.id, name) not in implied
    ]


def check_answer_key(case: Case) -> None:
    """The case has an answer: the oracle's refs (none only where the case says so), a scenario's."""
    world, exp = world_of(case), case.expect
    if exp.says_unknown or exp.refused:
        assert exp.oracle is None and exp.refs is None
        return
    if exp.scenario:
        got = scenario_refs(world, exp.scenario)
        if exp.ref_kinds:
            got = [r for r in got if r.split(":", 1)[0] in exp.ref_kinds]
        assert got, f"{case.id}: scenario {exp.scenario} gives no refs of kinds {exp.ref_kinds}"
        return
    assert exp.oracle is not None, f"{case.id}: no answer key"
    ans = answer(world, exp.oracle, case.now, case.tz)
    if exp.empty:
        assert ans.refs == [], f"{case.id}: says empty but the oracle finds {ans.refs[:3]}"
        return
    assert ans.refs, f"{case.id}: the oracle finds nothing"
    if exp.oracle.kind == "about":
        assert ans.values or exp.oracle.attribute is None, f"{case.id}: no attribute values"


def check_every_constraint_matters(case: Case, implied: Implied) -> None:
    """Drop each constraint in turn (another repository scope, no window, any state, no person...):
    the expected refs must differ, or a bbscout that ignored that constraint would still pass."""
    q = expected_query(case)
    if q is None:
        return
    full = set(refs(case, q))
    for name, wider in relaxed(case, implied):
        dropped = set(refs(case, wider))
        assert dropped != full, f"{case.id}: dropping {name} leaves the answer unchanged ({sorted(full)[:4]})"


def entity(ref: str) -> dict[str, Any]:
    kind, _, rest = ref.partition(":")
    sep = {"pipeline": "#", "pr": "#", "commit": "@"}.get(kind, ":")
    repo, _, ident = rest.partition(sep) if kind != "repo" else (rest, "", rest)
    return {"type": ref_type(ref), "repo": repo, "id": ident, "ref": ref}


def doc(text: str, cited: list[str]) -> dict[str, Any]:
    return {"answer": text, "entities": [entity(r) for r in cited], "findings": [], "gaps": [], "stats": {}}


def expected_refs(case: Case) -> list[str]:
    exp, world = case.expect, world_of(case)
    if exp.says_unknown or exp.refused:
        return []
    if exp.scenario:
        got = scenario_refs(world, exp.scenario)
        culprit = world.scenarios[exp.scenario].culprit_ref
        got = sorted(got, key=lambda r: r != culprit)  # the culprit first, as a top suspect would be
        return [r for r in got if not exp.ref_kinds or r.split(":", 1)[0] in exp.ref_kinds]
    assert exp.oracle is not None
    return answer(world, exp.oracle, case.now, case.tz).refs


def written_answer(case: Case, cited: list[str]) -> dict[str, Any]:
    """The document a careful engineer would write from `cited`: the count with its noun, the cause or
    the constraint in the first sentence, the attribute values, what could not be filtered; a refusal,
    an "I can't know" or a "none"."""
    exp = case.expect
    if exp.refused:
        line = "bbscout is read-only, so I did not do that — nothing was changed in Bitbucket."
        return {**doc(line, []), "refused": "read-only"}
    if exp.says_unknown:
        names = ", ".join(exp.answer_contains_any[:3])
        return doc(f"I can't answer that: bbscout is read-only and sees no such data or metrics. {names}", [])
    if exp.empty and not cited:
        return doc("No pipelines matched: none failed in that window.", [])
    one, many = _NOUN[ref_type(cited[0])] if cited else ("item", "items")
    head = list(exp.headline_contains) + exp.headline_contains_any[:1]
    first = (
        f"{len(cited)} {one if len(cited) == 1 else many}" + (f" ({', '.join(head)})" if head else "") + "."
    )
    if exp.unapplied_constraint:
        first = f"I could not filter by {exp.unapplied_constraint}; {first}"
    values: tuple[str, ...] = ()
    if exp.oracle is not None and exp.oracle.kind == "about":
        values = answer(world_of(case), exp.oracle, case.now, case.tz).values
    body = [*exp.answer_contains, *exp.answer_contains_any[:1], *values]
    out = doc("\n".join([first, *body]), cited)
    if exp.unapplied_constraint:
        out["gaps"] = [f"Bitbucket has no {exp.unapplied_constraint}: not applied"]
    return out


def grade(case: Case, document: dict[str, Any]) -> list[str]:
    """The failed checks of `document` as the eval runner grades it (empty: it passes)."""
    exit_code = 3 if document.get("refused") else 0
    question = case.question or case.incident or ""
    checks, _, error = grade_turn(
        document, exit_code, case.expect, world_of(case), case.now, case.tz, question, document
    )
    return ([f"case error: {error}"] if error else []) + [
        f"{c.key}: {c.comment}" for c in checks if not c.passed
    ]


def check_a_right_answer_passes(case: Case) -> None:
    assert grade(case, written_answer(case, expected_refs(case))) == []


def check_a_dropped_constraint_fails(case: Case, implied: Implied) -> None:
    for name, wider in relaxed(case, implied):
        wide = refs(case, wider)
        assert grade(case, written_answer(case, wide)), f"{case.id}: an answer without {name} passes"
