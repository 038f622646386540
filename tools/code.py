"""Source tools: search_code and browse_source.

Code search (`/workspaces/{ws}/search/code`) is deprecated (removal announced for Nov 1, 2026) and
answers 404 when search is not enabled, so `search_code` falls back to a bounded scan: list each
likely repository's tree (`/src/{main}/?max_depth=N`), match paths, and grep the few likeliest
files. Every line and file content that leaves here is redacted.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from bbscout.tools import links
from bbscout.tools.args import BrowseSource, SearchCode
from bbscout.tools.bitbucket import BitbucketError, Gone, NotFound
from bbscout.tools.context import ToolContext, clip, dig, list_repository_records, main_branch, repo_slugs
from bbscout.tools.evidence import CodeMatchRecord, Evidence, FileContentRecord, ToolResult, file_ref
from bbscout.tools.paths import describes
from bbscout.tools.redact import redact

__all__ = ["browse_source", "search_code"]

SEARCH_FIELDS = (
    "values.path_matches,values.content_matches,values.file.path,values.file.links.self.href,"
    "+values.file.commit.repository.slug,values.file.commit.hash"
)
TREE_FIELDS = "values.path,values.type,values.size"
MAX_LINES_PER_MATCH = 8
SCAN_REPOS = 6  # repositories listed by the fallback at most
SCAN_DEPTH = 5
SCAN_FILES = 12  # files fetched and grepped by the fallback at most
SCAN_MAX_SIZE = 200_000
MAX_CONTENT_CHARS = 12_000
MAX_ENTRIES = 300

_TEXT_EXT = {
    ".py",
    ".js",
    ".ts",
    ".tsx",
    ".jsx",
    ".go",
    ".java",
    ".kt",
    ".rb",
    ".rs",
    ".cs",
    ".php",
    ".scala",
    ".swift",
    ".c",
    ".h",
    ".cpp",
    ".hpp",
    ".sql",
    ".sh",
    ".yml",
    ".yaml",
    ".json",
    ".toml",
    ".ini",
    ".cfg",
    ".conf",
    ".env",
    ".tf",
    ".md",
    ".txt",
    ".xml",
    ".gradle",
    ".properties",
    ".dockerfile",
    ".mjs",
    ".cjs",
    ".vue",
    ".html",
    ".css",
}
_SRC_IN_HREF = re.compile(r"/repositories/[^/]+/([^/]+)/src/([^/]+)/")
_NOT_TYPES = (
    "if|elif|else|while|for|return|assert|await|yield|with|not|and|or|in|is|lambda|print|new|throw|case"
    "|do|switch"
)
DEFINITION_CHECKS = 6  # files fetched to confirm a definition the search excerpt did not show
_LINE_NO = re.compile(r"^\d+:\s?")


def definition_pattern(symbol: str) -> re.Pattern[str]:
    """A line that defines `symbol` in the languages a workspace usually holds.

    Python/Ruby `def`/`class`, JS/TS `function`/`const`/`class`/`interface`/`type`/methods, Go `func`/`type`,
    Java/Kotlin/C#/Scala/Swift/Rust declarations, Terraform blocks, and `name =`/`name:` at the start of a
    line (module constants, config keys). Calls, imports and longer identifiers (`test_symbol_x`) do not
    match.
    """
    name = re.escape(symbol.rstrip("()").split(".")[-1])
    b, e = r"(?<![\w$])", r"(?![\w$])"
    mods = (
        r"(?:(?:export|default|public|private|protected|internal|static|final|abstract|async|override|open"
        r"|pub(?:\([\w:]+\))?|inline|suspend|virtual|sealed|data|readonly|declare|unsafe|extern)\s+)*"
    )
    kinds = (
        r"def|class|module|function\*?|func|fn|fun|interface|type|enum|struct|trait|record|object|protocol|impl"
        r"|const|let|var|val|static|typedef|namespace|macro_rules!|resource|variable|output|data"
    )
    forms = [
        # def x / func (r *T) x / class X
        rf"^\s*{mods}(?:{kinds})\s+(?:\([^)]*\)\s*)?(?:self\.)?{b}{name}{e}",
        rf"^\s*{mods}(?:{kinds})\s+\"[^\"]*\"\s+\"{name}\"",  # terraform: resource "aws_x" "name"
        rf"^\s*{mods}(?:{kinds})\s+\"{name}\"",  # terraform: variable "name"
        (  # method: `BigDecimal name(Cart c) {`, not `if name(x):`
            rf"^\s*{mods}(?:(?!{b}(?:{_NOT_TYPES}){e})[\w<>\[\],.?*&\s])*?{b}{name}"
            rf"\s*(?:<[^>]*>)?\s*\([^;]*\)\s*"
            rf"(?:->\s*[^:{{]+)?(?:throws\s+[\w.,\s]+)?\s*[{{:]\s*$"
        ),
        rf"^\s*{mods}[\"']?{name}[\"']?\s*(?::[^=]*)?=(?!=)",  # NAME = …, name: T = …
        rf"^\s*[\"']?{name}[\"']?\s*:(?!:)",  # config key / object property
        # x = function / x = () =>
        rf"{b}{name}\s*[:=]\s*(?:async\s+)?(?:function{e}|\([^)]*\)\s*(?::\s*[^=]+)?=>)",
    ]
    return re.compile("|".join(f"(?:{f})" for f in forms))


def _defines(pattern: re.Pattern[str], lines: list[str]) -> bool:
    return any(pattern.search(_LINE_NO.sub("", line)) for line in lines)


def _match_record(
    ctx: ToolContext, repo: str, rev: str, path: str, lines: list[str], method: str
) -> CodeMatchRecord:
    path = redact(path)
    return CodeMatchRecord(
        ref=file_ref(repo, path, rev),
        repo=repo,
        url=links.file_url(ctx.workspace, repo, rev, path),
        title=f"{repo}/{path}" + (f": {lines[0]}" if lines else " (path match)"),
        path=path,
        rev=rev,
        lines=lines,
        method=method,
    )


def _search_lines(value: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for cm in value.get("content_matches") or []:
        for line in cm.get("lines") or []:
            text = "".join(seg.get("text", "") for seg in line.get("segments") or [])
            if text.strip():
                out.append(f"{line.get('line')}: {clip(text.rstrip(), 240)}")
    return out[:MAX_LINES_PER_MATCH]


async def _code_search(
    ctx: ToolContext, args: SearchCode, slugs: list[str] | None
) -> tuple[list[CodeMatchRecord], bool]:
    path = ctx.client.workspace_path("search", "code")
    queries = [f"{args.query} repo:{s}" for s in slugs] if slugs else [args.query]
    seen: set[tuple[str, str]] = set()
    records: list[CodeMatchRecord] = []
    more = False
    for q in queries:
        async for value in ctx.client.paginate(
            path, [("search_query", q)], fields=SEARCH_FIELDS, pagelen=50, max_items=args.limit * 3
        ):
            href = str(dig(value, "file", "links", "self", "href", default=""))
            m = _SRC_IN_HREF.search(href)
            repo = dig(value, "file", "commit", "repository", "slug") or (m.group(1) if m else "?")
            rev = dig(value, "file", "commit", "hash") or (m.group(2) if m else "HEAD")
            fpath = str(dig(value, "file", "path", default=""))
            if (repo, fpath) in seen:
                continue  # code search pages can repeat results
            seen.add((repo, fpath))
            if len(records) >= args.limit:
                more = True
                break
            records.append(
                _match_record(ctx, str(repo), str(rev), fpath, _search_lines(value), "code_search")
            )
    return records, more


def _terms(query: str) -> list[str]:
    words = re.findall(r"[A-Za-z0-9_.\-/]+", query.replace('"', " "))
    return [w for w in words if len(w) >= 2 and ":" not in w] or [query.strip()]


def _score(path: str, terms: list[str]) -> float:
    from rapidfuzz import fuzz

    name = PurePosixPath(path).name.lower()
    low = path.lower()
    score = 0.0
    for t in terms:
        tl = t.lower()
        if tl in low:
            score += 100 if tl in name else 60
        score += fuzz.partial_ratio(tl, name) / 4
    if PurePosixPath(path).suffix.lower() in _TEXT_EXT:
        score += 10
    return score


async def _fallback(ctx: ToolContext, args: SearchCode, slugs: list[str], reason: str) -> ToolResult:
    terms = _terms(args.query)
    records: list[CodeMatchRecord] = []
    gaps: list[str] = []
    if len(slugs) > SCAN_REPOS:
        # Likeliest repositories first: name/description similarity, then recency.
        from rapidfuzz import fuzz

        repos = {r.slug: r for r in await list_repository_records(ctx)}
        slugs = sorted(
            slugs,
            key=lambda s: (
                -max(
                    fuzz.partial_ratio(
                        args.query.lower(), f"{s} {repos[s].description if s in repos else ''}".lower()
                    ),
                    0,
                )
            ),
        )[:SCAN_REPOS]
    candidates: list[tuple[float, str, str, str]] = []  # (score, repo, rev, path)
    scanned_entries = 0
    for slug in slugs:
        try:
            ref = await main_branch(ctx, slug)
            tree = [
                e
                async for e in ctx.client.paginate(
                    ctx.client.repo_path(slug, "src", ref) + "/",
                    [("max_depth", SCAN_DEPTH)],
                    fields=TREE_FIELDS,
                    max_items=3000,
                )
            ]
        except BitbucketError as err:
            if err.status == 401:
                raise
            gaps.append(f"{slug}: source tree unavailable ({err.message})")
            continue
        scanned_entries += len(tree)
        for e in tree:
            if e.get("type") != "commit_file":
                continue
            p = str(e.get("path") or "")
            size = e.get("size")
            if isinstance(size, int) and size > SCAN_MAX_SIZE:
                continue
            s = _score(p, terms)
            if any(t.lower() in p.lower() for t in terms):
                records.append(_match_record(ctx, slug, ref, p, [], "path_scan"))
            candidates.append((s, slug, ref, p))
    candidates.sort(key=lambda c: -c[0])
    fetched = 0
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    path_hits = {(r.repo, r.path) for r in records}
    # "Where is X defined?": the likeliest files are grepped until one defines it, not all of them.
    defining = definition_pattern(args.query) if args.definitions_only else None
    for _score_value, slug, ref, p in candidates:
        if fetched >= SCAN_FILES:
            break
        if defining is not None and any(
            r.method == "content_scan" and _defines(defining, r.lines) for r in records
        ):
            break
        if PurePosixPath(p).suffix.lower() not in _TEXT_EXT and PurePosixPath(p).suffix:
            continue
        fetched += 1
        try:
            text = await ctx.client.get_text(ctx.client.repo_path(slug, "src", ref, *p.split("/")))
        except BitbucketError as err:
            if err.status == 401:
                raise
            continue
        lines = [
            f"{i}: {clip(line.rstrip(), 240)}"
            for i, line in enumerate(text.splitlines(), 1)
            if pattern.search(line)
        ]
        if not lines:
            continue
        if (slug, redact(p)) in path_hits:
            for r in records:
                if (r.repo, r.path) == (slug, redact(p)):
                    r.lines, r.method = lines[:MAX_LINES_PER_MATCH], "content_scan"
        else:
            records.append(_match_record(ctx, slug, ref, p, lines[:MAX_LINES_PER_MATCH], "content_scan"))
    records.sort(key=lambda r: (r.method != "content_scan", r.repo, r.path))
    notes = [
        f"code search unavailable ({reason}); scanned {scanned_entries} paths in {len(slugs)} repositor"
        f"{'y' if len(slugs) == 1 else 'ies'} and grepped {fetched} likely file(s)"
        + (" up to the first that defines it" if defining is not None and fetched < SCAN_FILES else "")
        + " — matches in other files may be missed"
    ]
    return ToolResult(
        tool="search_code", records=records[: args.limit], notes=notes, gaps=gaps, truncated=True
    )


async def _only_definitions(ctx: ToolContext, query: str, result: ToolResult) -> ToolResult:
    """Keep the matches whose lines define `query`; a match whose excerpt may be cut is confirmed from the
    file."""
    pattern = definition_pattern(query)
    kept: list[Evidence] = []
    checked = 0
    for rec in result.records:
        if not isinstance(rec, CodeMatchRecord):
            continue
        lines = list(rec.lines)
        if _defines(pattern, lines):
            rec.lines = [line for line in lines if pattern.search(_LINE_NO.sub("", line))] or lines
            kept.append(rec)
            continue
        if (
            rec.method == "content_scan"
            or (lines and len(lines) < MAX_LINES_PER_MATCH)
            or checked >= DEFINITION_CHECKS
        ):
            continue  # the whole file was grepped, or the excerpt is complete: no definition here
        checked += 1
        try:
            text = await ctx.client.get_text(
                ctx.client.repo_path(rec.repo, "src", rec.rev, *rec.path.split("/"))
            )
        except BitbucketError as err:
            if err.status == 401:
                raise
            continue
        found = [
            f"{i}: {clip(line.rstrip(), 240)}"
            for i, line in enumerate(text.splitlines(), 1)
            if pattern.search(line)
        ]
        if found:
            rec.lines = [redact(line) for line in found[:MAX_LINES_PER_MATCH]]
            kept.append(rec)
    dropped = len(result.records) - len(kept)
    notes = [
        *result.notes,
        f"definitions only: kept {len(kept)} file(s) whose lines define '{query}'"
        + (f", dropped {dropped} that only mention it" if dropped else ""),
    ]
    return result.model_copy(update={"records": kept, "notes": notes})


_IDENT = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*(?:\(\))?")


def whole_identifier_pattern(symbol: str) -> re.Pattern[str]:
    """`symbol` as a whole identifier: `reserve_stock(` and `svc.reserve_stock` match,
    `test_reserve_stock_x` does not (identifier characters, `_` included, may not touch either side)."""
    return re.compile(rf"(?<![\w$]){re.escape(symbol.rstrip('()'))}(?![\w$])")


def _only_whole_identifier(query: str, result: ToolResult) -> ToolResult:
    """Drop matches whose lines mention the symbol only inside a longer identifier (substring hits of code
    search).

    Only complete excerpts are judged (fewer lines than the cap, or a full-file scan); a path-only match is
    kept.
    """
    if not _IDENT.fullmatch(query.strip()):
        return result
    pattern = whole_identifier_pattern(query.strip())
    kept: list[Evidence] = []
    for rec in result.records:
        lines = list(rec.lines) if isinstance(rec, CodeMatchRecord) else []
        complete = isinstance(rec, CodeMatchRecord) and (
            rec.method == "content_scan" or len(lines) < MAX_LINES_PER_MATCH
        )
        if lines and complete and not _defines(pattern, lines):
            continue
        kept.append(rec)
    dropped = len(result.records) - len(kept)
    if not dropped:
        return result
    notes = [
        *result.notes,
        f"dropped {dropped} file(s) that only contain '{query}' inside a longer identifier",
    ]
    return result.model_copy(update={"records": kept, "notes": notes})


async def search_code(ctx: ToolContext, args: SearchCode) -> ToolResult:
    slugs = await repo_slugs(ctx, args.repos) if args.repos else None
    try:
        records, more = await _code_search(ctx, args, slugs)
    except (NotFound, Gone) as err:
        reason = f"{err.status}" if err.status else "unavailable"
        result = await _fallback(ctx, args, slugs or await repo_slugs(ctx, None), reason)
    else:
        notes = [f"code search: {len(records)} file(s)"]
        if more:
            notes.append(f"more files matched than the limit of {args.limit}")
        result = ToolResult(tool="search_code", records=records, notes=notes, truncated=more)
    result = _only_whole_identifier(args.query, result)
    if args.definitions_only:
        result = await _only_definitions(ctx, args.query, result)
    return result


async def _find_file(ctx: ToolContext, args: BrowseSource, words: list[str]) -> ToolResult:
    """The file whose path the words describe best (`tools.paths.describes`), read like a named one."""
    ref = args.ref or await main_branch(ctx, args.repo)
    tree = [
        str(e.get("path") or "")
        async for e in ctx.client.paginate(
            ctx.client.repo_path(args.repo, "src", ref) + "/",
            [("max_depth", SCAN_DEPTH)],
            fields=TREE_FIELDS,
            max_items=3000,
        )
        if e.get("type") == "commit_file"
    ]
    scored = sorted(
        ((score, p) for p in tree if (score := describes(p, words)) is not None),
        key=lambda sp: (-sp[0], sp[1]),
    )
    said = " ".join(words)
    if not scored:
        return ToolResult(
            tool="browse_source",
            gaps=[f"no file in {args.repo} matches “{said}” (looked at {len(tree)} paths)"],
        )
    best = scored[0][1]
    result = await browse_source(ctx, args.model_copy(update={"path": best, "find": None, "ref": ref}))
    close = [redact(p) for _, p in scored[1:4]]
    note = f"rule: the file that best matches “{said}” in {args.repo}: {redact(best)}"
    note += f" (also close: {', '.join(close)})" if close else ""
    return result.model_copy(update={"notes": [note, *result.notes]})


async def browse_source(ctx: ToolContext, args: BrowseSource) -> ToolResult:
    if args.find:
        return await _find_file(ctx, args, args.find)
    client = ctx.client
    ref = args.ref or await main_branch(ctx, args.repo)
    path = args.path.strip("/")
    parts = [p for p in path.split("/") if p]
    base = client.repo_path(args.repo, "src", ref, *parts)
    mode = "immutable" if re.fullmatch(r"[0-9a-f]{40}", ref) else "listing"
    meta: dict[str, Any] | None = None
    if parts:
        meta = await client.get_json(base, [("format", "meta")], cache=mode)
    if not parts or (meta and meta.get("type") == "commit_directory"):
        entries = []
        async for e in client.paginate(
            base + "/", fields="values.path,values.type,values.size", max_items=MAX_ENTRIES + 1, cache=mode
        ):
            name = str(e.get("path") or "")
            entries.append(redact(name + ("/" if e.get("type") == "commit_directory" else "")))
        cut = len(entries) > MAX_ENTRIES
        rec = FileContentRecord(
            ref=file_ref(args.repo, path or "/", ref),
            repo=args.repo,
            url=links.file_url(ctx.workspace, args.repo, ref, path),
            title=f"{args.repo}:{path or '/'}@{ref} directory ({len(entries[:MAX_ENTRIES])} entries)",
            path=path or "/",
            rev=ref,
            is_directory=True,
            entries=entries[:MAX_ENTRIES],
            truncated=cut,
        )
        return ToolResult(tool="browse_source", records=[rec], truncated=cut)
    assert meta is not None
    size = meta.get("size")
    attrs = meta.get("attributes") or []
    if isinstance(attrs, str):
        attrs = [attrs]
    notes: list[str] = []
    content = ""
    truncated = False
    if (
        "binary" in attrs
        or "lfs" in attrs
        or str(meta.get("mimetype") or "").startswith(("image/", "application/octet"))
    ):
        notes.append(
            f"binary file ({size} bytes, {meta.get('mimetype') or 'unknown type'}); content not shown"
        )
    else:
        big = isinstance(size, int) and size > 4 * MAX_CONTENT_CHARS
        headers = {"Range": f"bytes=0-{4 * MAX_CONTENT_CHARS - 1}"} if big else None
        text = await client.get_text(base, headers=headers, cache=mode)
        truncated = big or len(text) > MAX_CONTENT_CHARS
        content = redact(text[:MAX_CONTENT_CHARS])
        if truncated:
            notes.append(f"content cut at {MAX_CONTENT_CHARS} characters (file is {size or len(text)} bytes)")
    rec = FileContentRecord(
        ref=file_ref(args.repo, path, ref),
        repo=args.repo,
        url=links.file_url(ctx.workspace, args.repo, ref, path),
        title=f"{args.repo}:{path}@{ref} ({size if size is not None else '?'} bytes)",
        path=path,
        rev=ref,
        content=content,
        truncated=truncated,
    )
    return ToolResult(tool="browse_source", records=[rec], notes=notes, truncated=truncated)
