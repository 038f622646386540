"""Repository tools: list_repositories and resolve_repository.

Both read the run's cached repository listing (`tools.context.list_repository_records`): one
paginated, fields-trimmed request per ~100 repositories per run, then free.
"""

from __future__ import annotations

from bbscout.tools.args import ListRepositories, ResolveRepository
from bbscout.tools.context import ToolContext, list_repository_records
from bbscout.tools.evidence import RepositoryRecord, ToolResult

__all__ = ["list_repositories", "resolve_repository"]

MIN_SCORE = 0.4  # for the fuzzy fallback (scores 0..1)
MAX_CANDIDATES = 5


async def list_repositories(ctx: ToolContext, args: ListRepositories) -> ToolResult:
    repos = await list_repository_records(ctx)
    if args.name_contains:
        needle = args.name_contains.strip().lower()
        repos = [r for r in repos if needle in r.slug.lower() or needle in r.name.lower()]
    more = len(repos) > args.limit
    notes = [f"{len(repos)} repositor{'y' if len(repos) == 1 else 'ies'} in {ctx.workspace}"]
    if more:
        notes.append(f"showing {args.limit}; pass name_contains to narrow")
    return ToolResult(
        tool="list_repositories", records=list(repos[: args.limit]), notes=notes, truncated=more
    )


def _fallback_rank(phrase: str, repos: list[RepositoryRecord]) -> list[tuple[str, float]]:
    from rapidfuzz import fuzz

    p = phrase.strip().lower()
    scored = []
    for r in repos:
        text = f"{r.slug} {r.name}".lower()
        score = max(fuzz.token_set_ratio(p, text), fuzz.partial_ratio(p, r.slug.lower()))
        if r.description:
            score = max(score, 0.8 * fuzz.token_set_ratio(p, r.description.lower()))
        scored.append((r.slug, round(float(score) / 100, 3)))
    return sorted(scored, key=lambda x: (-x[1], x[0]))


async def resolve_repository(ctx: ToolContext, args: ResolveRepository) -> ToolResult:
    repos = await list_repository_records(ctx)
    try:
        from bbscout.tools.resolve import rank_repositories  # owned by the intake; optional at import time
    except ImportError:
        ranked = [(s, sc) for s, sc in _fallback_rank(args.phrase, repos) if sc >= MIN_SCORE]
        method = "fuzzy name match"
    else:
        ranked = list(rank_repositories(args.phrase, repos))
        method = "bbscout.tools.resolve.rank_repositories"
    by_slug = {r.slug: r for r in repos}
    keep = [(slug, score) for slug, score in ranked if slug in by_slug and score > 0][:MAX_CANDIDATES]
    records = [by_slug[slug] for slug, _ in keep]
    notes = [
        f"{args.phrase!r} → "
        + (", ".join(f"{s} ({sc:.2f})" for s, sc in keep) or "no repository matched")
        + f" [{method}]"
    ]
    return ToolResult(tool="resolve_repository", records=records, notes=notes)
