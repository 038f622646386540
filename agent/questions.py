"""What a question must be before anything runs, on every surface (CLI, API, MCP, Slack, chat).

Plain text of a sane size; and an investigation needs the time its symptom began, given explicitly or
said in the symptom itself ("checkout errors since 14:05 UTC").
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from bbscout.agent.settings import ConfigError

__all__ = ["MAX_QUESTION_CHARS", "check_question", "symptom_onset"]

MAX_QUESTION_CHARS = 2000


def check_question(question: str) -> str:
    """The question, stripped; ConfigError for empty, oversized or binary text."""
    text = question.strip()
    if not text:
        raise ConfigError(
            "The question is empty. Ask something like: "
            'bbscout ask "What pipelines failed in the last 24 hours?"'
        )
    if len(text) > MAX_QUESTION_CHARS:
        raise ConfigError(
            f"The question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. "
            "Ask one short question at a time (paste logs into Bitbucket, not into the question)."
        )
    junk = sum(1 for c in text if unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn") and c not in "\n\t")
    if junk or "\ufffd" in text:
        raise ConfigError("The question contains binary or control characters. Type it as plain text.")
    return text


def symptom_onset(symptom: str, at: datetime | None, now: datetime, tz: str) -> datetime:
    """When the symptom began: `at` when given, else the time the symptom states ("since 14:05 UTC",
    "from 9am", "30 minutes ago", read in `tz`); ConfigError when neither says it."""
    if at is not None:
        return at
    from bbscout.agent.intake.time import parse_instant

    onset = parse_instant(symptom, now, tz)
    if onset is None:
        raise ConfigError(
            "An investigation needs the time the symptom began. Say it in the symptom "
            "(\"checkout errors since 14:05 UTC\") or give it as --at (the API's and MCP's `at`), "
            "ISO-8601, e.g. 2026-11-29T14:05:00Z."
        )
    return onset
