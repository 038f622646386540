"""Text from Bitbucket made harmless for the medium that shows it, at the last step before output.

Anyone who can open a PR writes text that bbscout prints: titles, commit messages, log lines, error
bodies. Written raw, escape sequences clear a terminal, set its title or plant hidden hyperlinks,
and markup (rich tags, Markdown links, Slack mentions, HTML) changes what a reader sees. Every
surface calls the function for its medium on server-derived text as the last step:

    terminal(text)         a rich console (markup escaped)        strip_controls(text)  plain text (MCP)
    markdown(text)         a fragment inside Markdown             slack(text)           Slack mrkdwn text
    html(text)             HTML element content or attribute      slack_link(url, text) a Slack mrkdwn link
    json_text(value)       JSON on a tty                          slack_url(url)        a URL inside `<…|…>`
    terminal_markdown(doc) a whole Markdown answer (our markup + their text) for rich to render

Control characters go (C0 but tab and newline, DEL, C1, bidi overrides) together with the escape
sequences they start; then the medium's markup is escaped.
"""

from __future__ import annotations

import html as _html
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from markdown_it.token import Token
from rich.markdown import Markdown
from rich.markup import escape as _rich_escape

__all__ = [
    "html",
    "is_bitbucket_link",
    "json_text",
    "markdown",
    "slack",
    "slack_link",
    "slack_url",
    "strip_controls",
    "terminal",
    "terminal_markdown",
]

# Whole escape sequences first (so "\x1b]0;title\x07" leaves nothing behind), then lone controls.
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]"  # C1 CSI
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC (titles, OSC 8 hyperlinks)
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # C1 OSC
    r"|[\x1b][PX^_][\s\S]*?(?:\x1b\\|\x9c|$)"  # DCS, SOS, PM, APC
    r"|[\x90\x98\x9e\x9f][\s\S]*?(?:\x1b\\|\x9c|$)"  # their C1 forms
    r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (and a lone ESC)
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
WEB_ROOT = "https://bitbucket.org/"


def strip_controls(text: str) -> str:
    """`text` without escape sequences and control characters (tab and newline stay)."""
    if not text:
        return text
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def terminal(text: str) -> str:
    """For a rich console with markup on: controls stripped, `[tags]` escaped."""
    return _rich_escape(strip_controls(text))


def markdown(text: str) -> str:
    """For a fragment inside Markdown: controls stripped, every markup character backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", strip_controls(text))


def slack(text: str) -> str:
    """For Slack mrkdwn: controls stripped; `&`, `<`, `>` escaped (no links, mentions or pings)."""
    return strip_controls(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_url(url: str) -> str:
    """A URL safe inside Slack's `<url|label>`: controls dropped; `|`, `<`, `>` and spaces percent-encoded."""
    return quote(strip_controls(url), safe=":/?#[]@!$&()*+,;=%~.-_")


def slack_link(url: str, label: str) -> str:
    """A Slack mrkdwn link whose label is escaped text (it can neither end the link nor ping anyone)."""
    return f"<{slack_url(url)}|{slack(label)}>"


def html(text: str) -> str:
    """For HTML content or a quoted attribute value: controls stripped, `& < > " '` escaped."""
    return _html.escape(strip_controls(text), quote=True)


def json_text(value: Any) -> str:
    """`value` as indented JSON whose strings carry no raw control or bidi characters (they are escaped)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def is_bitbucket_link(href: str) -> bool:
    """Our own links: evidence records link to their Bitbucket web page."""
    return href.startswith(WEB_ROOT)


def terminal_markdown(doc: str, trusted: Callable[[str], bool] = is_bitbucket_link) -> Markdown:
    """A Markdown answer for rich, defused: links stay clickable only to `trusted` targets.

    The answer mixes our markup with repository text, so the parsed tokens are checked rather than
    the source: a link elsewhere shows its URL in the open, an image becomes its alt text, raw HTML
    is shown as text, and text decoded from entities (`&#27;`) loses its control characters too.
    """
    rendered = Markdown(strip_controls(doc))
    rendered.parsed = [_defuse(token, trusted) for token in rendered.parsed]
    return rendered


def _text(content: str) -> Token:
    return Token("text", "", 0, content=strip_controls(content))


def _defuse(token: Token, trusted: Callable[[str], bool]) -> Token:
    if token.type == "html_block":
        token.type, token.tag, token.content = "code_block", "code", strip_controls(token.content)
    elif token.type in ("fence", "code_block"):
        token.content = strip_controls(token.content)
    if token.children:
        token.children = _defuse_inline(token.children, trusted)
    return token


def _defuse_inline(children: list[Token], trusted: Callable[[str], bool]) -> list[Token]:
    out: list[Token] = []
    open_links: list[str | None] = []  # the shown URL of each open link (None: a trusted link)
    for child in children:
        if child.type == "link_open":
            href = str(child.attrs.get("href", ""))
            if trusted(href):
                open_links.append(None)
                out.append(child)
            else:
                open_links.append(href)
        elif child.type == "link_close":
            shown = open_links.pop() if open_links else None
            if shown is None:
                out.append(child)
            else:
                out.append(_text(f" ({shown})"))
        elif child.type == "image":
            src = str(child.attrs.get("src", ""))
            out.append(_text(f"{child.content} (image: {src})"))
        elif child.type == "html_inline":
            out.append(_text(child.content))
        elif child.type in ("text", "code_inline"):
            child.content = strip_controls(child.content)
            out.append(child)
        else:
            out.append(child)
    return out
