"""The answer as HTML for the chat page: the one place repository text is made safe for a browser.

The answer is Markdown written by the reporter around repository text (titles, messages, branch
names) that may hold markup. `markdown-it` parses it with raw HTML disabled and every piece of text
it renders goes through `neutralize.html` (controls and bidi overrides dropped, `& < > " '`
escaped); links survive only to Bitbucket's web pages (`neutralize.is_bitbucket_link`), so a PR
title cannot smuggle in a `javascript:` or phishing link. Bare refs the evidence holds
(`pipeline:api#12`) become links to their Bitbucket page.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt

from bbscout.agent.neutralize import html, is_bitbucket_link, strip_controls

_REF = re.compile(r"(?<![\[\w/:])((?:pipeline|pr|commit|branch|deployment|file|step|repo):[^\s\])(,;]+)")


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = is_bitbucket_link  # type: ignore[method-assign, assignment]

    def text(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        return html(tokens[idx].content)

    def code_inline(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        return f"<code>{html(tokens[idx].content)}</code>"

    def code_block(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        return f"<pre><code>{html(tokens[idx].content)}</code></pre>\n"

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        href = str(tokens[idx].attrs.get("href", ""))
        return f'<a href="{html(href)}" target="_blank" rel="noopener noreferrer">'

    for name, rule in (
        ("text", text),
        ("code_inline", code_inline),
        ("code_block", code_block),
        ("fence", code_block),
        ("link_open", link_open),
    ):
        md.add_render_rule(name, rule)
    return md


_MD = _renderer()


def link_refs(markdown: str, urls: dict[str, str]) -> str:
    """Turn bare refs that the evidence holds into Markdown links (refs already linked stay as they are)."""

    def replace(match: re.Match[str]) -> str:
        ref = match.group(1).rstrip(".")
        url = urls.get(ref)
        return match.group(0).replace(ref, f"[{ref}]({url})", 1) if url else match.group(0)

    return _REF.sub(replace, markdown)


def answer_html(document: dict[str, Any]) -> str:
    """The document's answer, findings and gaps as safe HTML, every known ref a Bitbucket link."""
    urls = {e["ref"]: e["url"] for e in document.get("entities", []) if e.get("url")}
    parts = [document.get("answer") or ""]
    findings = [f for f in document.get("findings", []) if f.get("title")]
    if findings:
        parts.append(
            "### Findings\n" + "\n".join(f"- **{f['title']}** — {f.get('detail', '')}" for f in findings)
        )
    if document.get("gaps"):
        parts.append("### What I could not see\n" + "\n".join(f"- {g}" for g in document["gaps"]))
    return str(_MD.render(link_refs(strip_controls("\n\n".join(parts)), urls)))
