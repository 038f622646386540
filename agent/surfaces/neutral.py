"""Repository text made harmless for the surfaces' media, at the last step before output.

Two functions, one per medium these surfaces add: `slack_text` for Slack mrkdwn and `plain_text`
for text a host model reads over MCP. They mirror the neutralisation module of issue 11 and are
meant to be replaced by its `slack` and `strip_controls` when that lands.
"""

from __future__ import annotations

import re

__all__ = ["plain_text", "slack_text"]

# Escape sequences whole (so "\x1b]0;title\x07" leaves nothing behind), then lone control characters.
_SEQUENCES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain_text(text: str) -> str:
    """`text` without escape sequences and control characters (tab and newline stay)."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", text)) if text else text


def slack_text(text: str) -> str:
    """For Slack mrkdwn: controls stripped; `&`, `<`, `>` escaped, so no link, mention or ping survives."""
    return plain_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
