"""A finished run as Slack Block Kit: the answer in mrkdwn with every ref a link, findings, gaps, stats.

A request to act that bbscout refused (`"refused": "read-only"`) is marked as such at the top of the
message and in its notification text, so nobody in the channel reads the help as something done.

The answer is Markdown that mixes our markup with repository text, so it is converted from its parsed
tokens, never by pattern-matching the source: every text token is escaped for mrkdwn
(`neutralize.slack`), so a PR titled `<!channel>` or `<https://evil|click>` shows those characters and
pings or links nothing. Links survive only to Bitbucket (`neutralize.is_bitbucket_link`, the evidence's
own web links); any other link shows its URL in the open. A ref in plain text
(`pr:checkout-service#68`) becomes a link when the run's evidence holds it.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bbscout.agent.neutralize import is_bitbucket_link, slack, slack_link, slack_url
from bbscout.agent.runtime import RunResult

__all__ = [
    "answer_blocks",
    "error_blocks",
    "fallback_text",
    "mrkdwn",
    "progress_blocks",
    "ref_links",
]

REFUSED_MARK = ":no_entry_sign:"  # before the first line of a refused request (it did nothing)
SECTION_LIMIT = 2900  # Slack allows 3,000 characters in a section's text
MAX_BLOCKS = 48  # of Slack's 50, two kept for the truncation note and the stats
_REF = re.compile(r"\b(?:pr|pipeline|step|commit|branch|deployment|file|repo|test):[^\s,;()“”\"'<>]+")
_md = MarkdownIt("commonmark")


def ref_links(result: RunResult) -> dict[str, str]:
    """ref → Bitbucket web link for every record the run saw (answer entities and all evidence)."""
    links = {r.ref: r.url for o in result.outcomes for r in o.records if r.url}
    links.update({e["ref"]: e["url"] for e in result.document.get("entities", [])})
    return {ref: url for ref, url in links.items() if is_bitbucket_link(url)}


def _text(text: str, links: dict[str, str]) -> str:
    """Escaped text with each known ref turned into a link."""
    out, last = [], 0
    for match in _REF.finditer(text):
        ref = match.group().rstrip(".:")
        if ref not in links:
            continue
        out.append(slack(text[last : match.start()]))
        out.append(slack_link(links[ref], ref))
        last = match.start() + len(ref)
    out.append(slack(text[last:]))
    return "".join(out)


def _inline(children: list[Token], links: dict[str, str]) -> str:
    out: list[str] = []
    open_links: list[tuple[str, int]] = []  # (href, where its label starts in `out`)
    for child in children:
        kind = child.type
        if kind == "text":
            out.append(_text(child.content, links))
        elif kind == "code_inline":
            out.append(f"`{slack(child.content)}`")
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind in ("strong_open", "strong_close"):
            out.append("*")
        elif kind in ("em_open", "em_close"):
            out.append("_")
        elif kind == "link_open":
            open_links.append((str(child.attrs.get("href", "")), len(out)))
        elif kind == "link_close" and open_links:
            href, start = open_links.pop()
            label = "".join(out[start:])
            del out[start:]
            if is_bitbucket_link(href):
                plain = re.sub(r"<[^|>]*\|([^>]*)>", r"\1", label)  # no link inside a link
                out.append(f"<{slack_url(href)}|{plain}>")
            else:  # not ours: the label, and where it really goes, in the open
                out.append(f"{label} ({slack(href)})")
        elif kind == "image":
            out.append(slack(f"{child.content} (image: {child.attrs.get('src', '')})"))
        elif kind == "html_inline":
            out.append(slack(child.content))
    return "".join(out)


def mrkdwn(markdown: str, links: dict[str, str]) -> str:
    """Markdown (our markup and their text) as Slack mrkdwn, escaped and linked (see the module)."""
    lines: list[str] = []
    prefix: list[str] = []  # bullets of the open list items
    ordinals: list[int] = []
    for token in _md.parse(markdown):
        kind = token.type
        if kind == "bullet_list_open":
            ordinals.append(0)
        elif kind == "ordered_list_open":
            ordinals.append(int(token.attrs.get("start", 1) or 1))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            ordinals.pop()
        elif kind == "list_item_open":
            number = ordinals[-1] if ordinals else 0
            prefix.append(f"{number}." if number else "•")
            if number:
                ordinals[-1] += 1
        elif kind == "list_item_close":
            prefix.pop()
        elif kind == "inline":
            text = _inline(token.children or [], links)
            indent = "    " * max(0, len(prefix) - 1)
            lead = f"{indent}{prefix[-1]} " if prefix else ""
            if prefix:
                prefix[-1] = " " * len(prefix[-1])  # a second paragraph of the item is not a new bullet
            lines.append(lead + text)
        elif kind == "heading_open":
            lines.append("")
        elif kind in ("fence", "code_block"):
            lines.append(f"```{slack(token.content.rstrip())}```")
        elif kind == "html_block":
            lines.append(slack(token.content.rstrip()))
        elif kind == "paragraph_close" and not prefix:
            lines.append("")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _sections(text: str) -> list[dict[str, Any]]:
    """`text` in sections of at most SECTION_LIMIT characters, cut at line ends."""
    blocks, chunk = [], ""
    for line in text.split("\n"):
        while len(line) > SECTION_LIMIT:
            blocks.append(line[:SECTION_LIMIT])
            line = line[SECTION_LIMIT:]
        if len(chunk) + len(line) + 1 > SECTION_LIMIT:
            blocks.append(chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(chunk)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": b}} for b in blocks if b.strip()]


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def answer_blocks(result: RunResult) -> list[dict[str, Any]]:
    """The whole answer as Block Kit: answer, findings, next step, gaps, then the run's cost."""
    document = result.document
    links = ref_links(result)
    text = mrkdwn(document["answer"], links)
    blocks = _sections(f"{REFUSED_MARK} {text}" if document.get("refused") else text)
    findings = [
        f"• *{_text(f['title'], links)}* — {_text(f['detail'], links)}" for f in document.get("findings", [])
    ]
    if findings:
        blocks += _sections("*Findings*\n" + "\n".join(findings))
    if document.get("next_step"):
        blocks += _sections(f"*Next step:* {mrkdwn(document['next_step'], links)}")
    if document.get("gaps"):
        blocks += _sections(
            "*What I could not see*\n" + "\n".join(f"• {_text(g, links)}" for g in document["gaps"])
        )
    if len(blocks) > MAX_BLOCKS:
        cut = len(blocks) - MAX_BLOCKS
        blocks = [
            *blocks[:MAX_BLOCKS],
            _context(f"… {cut} more section(s) not shown; ask a narrower question."),
        ]
    stats = document.get("stats", {})
    blocks.append(
        _context(
            f"{stats.get('http_requests', 0)} Bitbucket requests · {stats.get('tool_calls', 0)} tool calls · "
            f"{float(stats.get('seconds', 0)):.1f}s · planner {slack(str(document.get('planner', '')))}"
        )
    )
    return blocks


def fallback_text(result: RunResult) -> str:
    """The notification text: the answer's first line, escaped, without Markdown."""
    first = next((line for line in result.document["answer"].splitlines() if line.strip()), "")
    mark = f"{REFUSED_MARK} " if result.document.get("refused") else ""
    return mark + slack(re.sub(r"[*_`]", "", first))[:300]


def progress_blocks(lines: str, title: str = "Looking into it…") -> list[dict[str, Any]]:
    """The progress message: a title and the calls so far (repository text escaped)."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}}]
    if lines:
        blocks.append(_context(slack(lines)))
    return blocks


def error_blocks(message: str) -> list[dict[str, Any]]:
    """A failure the asker can act on (a refused token, an unknown repository), escaped."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {slack(message)}"}}]
