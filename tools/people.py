"""People tool: resolve_person, and `workspace_people`, the run's member list.

Members come from `GET /workspaces/{ws}/members` (one trimmed page per 100 members, once per run).
That endpoint needs `read:workspace:bitbucket` (classic `account`), which repository access tokens
lack; then the authors, reviewers and participants of the newest pull requests stand in for it, and
the result says so.
"""

from __future__ import annotations

from typing import Any, Literal

from bbscout.tools import links
from bbscout.tools.args import ResolvePerson
from bbscout.tools.bitbucket import Gone, NotFound, ScopeError
from bbscout.tools.context import ToolContext, fan_out, repo_slugs
from bbscout.tools.evidence import PersonRecord, ToolResult, person_ref
from bbscout.tools.pullrequests import PR_FIELDS_WHO
from bbscout.tools.redact import redact
from bbscout.tools.resolve import Person, person_from_account, resolve_person

__all__ = ["resolve_person_tool", "workspace_people"]

MEMBER_FIELDS = "values.user.display_name,values.user.nickname,values.user.uuid,values.user.type"
Source = Literal["workspace member", "author seen"]
SEEN_PRS = 50  # newest pull requests read per repository when members are not readable


async def workspace_people(ctx: ToolContext) -> list[Person]:
    """The workspace's members as Persons (cached on the context for the run).

    Raises:
        ScopeError/NotFound/Gone: the member list is not readable with this token.
    """
    if ctx.people is None:
        ctx.people = [
            person_from_account(raw.get("user") or {})
            async for raw in ctx.client.paginate(
                ctx.client.workspace_path("members"), fields=MEMBER_FIELDS, pagelen=100
            )
        ]
    return list(ctx.people)


async def _people_seen(ctx: ToolContext, repos: list[str] | None) -> tuple[list[Person], list[str]]:
    """Authors, reviewers and participants of each repository's newest pull requests."""
    slugs = await repo_slugs(ctx, repos)
    params = [("state", s) for s in ("OPEN", "MERGED", "DECLINED")] + [("sort", "-updated_on")]

    async def per_repo(slug: str, sink: list[Person]) -> None:
        async for raw in ctx.client.paginate(
            ctx.client.repo_path(slug, "pullrequests"), params, fields=PR_FIELDS_WHO, max_items=SEEN_PRS
        ):
            accounts: list[Any] = [raw.get("author") or {}, *(raw.get("reviewers") or [])]
            accounts += [p.get("user") or {} for p in raw.get("participants") or []]
            sink.extend(person_from_account(a) for a in accounts if a.get("display_name"))

    out = await fan_out(ctx, slugs, per_repo)
    return [p for ps in out.results.values() for p in ps], out.gaps


def _record(ctx: ToolContext, person: Person, source: Source) -> PersonRecord:
    name = redact(person.name)
    return PersonRecord(
        ref=person_ref(person.uuid, name),
        repo="",
        url=f"{links.WEB_ROOT}/{person.uuid}/" if person.uuid else f"{links.WEB_ROOT}/{ctx.workspace}/",
        title=f"{name}"
        + (f" (@{redact(person.nickname)})" if person.nickname else "")
        + (" [bot]" if person.is_bot else ""),
        name=name,
        nickname=redact(person.nickname),
        uuid=person.uuid,
        is_bot=person.is_bot,
        source=source,
    )


async def resolve_person_tool(ctx: ToolContext, args: ResolvePerson) -> ToolResult:
    notes: list[str] = []
    gaps: list[str] = []
    source: Source = "workspace member"
    try:
        people = await workspace_people(ctx)
    except (ScopeError, NotFound, Gone) as err:
        people, gaps = await _people_seen(ctx, args.repos)
        source = "author seen"
        notes.append(
            f"workspace members not readable ({err.status}: the token lacks read:workspace / account); "
            f"matched against the people of the newest {SEEN_PRS} pull requests per repository instead"
        )
    res = resolve_person(args.phrase, people)
    by_name: dict[str, Person] = {}
    for person in people:
        by_name.setdefault(person.name, person)
    records = [_record(ctx, by_name[name], source) for name in res.matches if name in by_name]
    if res.ambiguous:
        notes.append(f"{args.phrase!r} is ambiguous: {', '.join(res.matches)} ({res.rule}); ask which one")
    elif res.matches:
        notes.append(f"{args.phrase!r} → {', '.join(res.matches)} ({res.rule})")
    else:
        notes.append(
            f"no one matches {args.phrase!r}"
            + (f" (closest: {', '.join(res.alternatives)})" if res.alternatives else "")
        )
    return ToolResult(tool="resolve_person", records=records, notes=notes, gaps=gaps)
