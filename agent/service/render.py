"""The answer as HTML for the chat page: the one place repository text is made safe for a browser.

The answer is Markdown written by the reporter around repository text (titles, messages, branch
names) that may hold markup. `markdown-it` renders it with raw HTML disabled, so every `<`, `&` and
quote in it reaches the page escaped; links survive only when they point at Bitbucket's web host,
so a PR title cannot smuggle in a `javascript:` or phishing link; control and bidi-override
characters are dropped first (until issue 11's HTML neutraliser replaces this). Bare refs the evidence holds
(`pipeline:api#12`) become links to their Bitbucket page.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

from bbscout.agent.surfaces.neutral import plain_text

LINK_HOSTS = frozenset({"bitbucket.org"})
_REF = re.compile(r"(?<![\[\w/:])((?:pipeline|pr|commit|branch|deployment|file|step|repo):[^\s\])(,;]+)")


def _allowed(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme == "https" and (parts.hostname or "") in LINK_HOSTS


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = _allowed  # type: ignore[method-assign]

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("target", "_blank")
        tokens[idx].attrSet("rel", "noopener noreferrer")
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
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
    """The document's answer, gaps included, as safe HTML with every known ref a Bitbucket link."""
    urls = {e["ref"]: e["url"] for e in document.get("entities", []) if e.get("url")}
    parts = [document.get("answer") or ""]
    findings = [f for f in document.get("findings", []) if f.get("title")]
    if findings:
        parts.append(
            "### Findings\n" + "\n".join(f"- **{f['title']}** — {f.get('detail', '')}" for f in findings)
        )
    if document.get("gaps"):
        parts.append("### What I could not see\n" + "\n".join(f"- {g}" for g in document["gaps"]))
    return str(_MD.render(link_refs(plain_text("\n\n".join(parts)), urls)))
