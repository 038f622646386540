"""Secret redaction for every piece of repository-derived text that leaves `tools/`.

Repository content (commit messages, PR descriptions, step logs, file contents, code matches) is
untrusted and often carries credentials: a leaked key in a build log must not reach a model's
context or a report. `redact(text)` replaces each secret with `[REDACTED:<kind>]`; `find_secrets`
returns what would be replaced.

Design: specific, well-formed token shapes first (AWS, GitHub, Atlassian, Slack, Stripe, Google,
npm, JWT, private-key blocks), then contextual ones (password in a URL, Authorization headers,
`SECRET=`/`password:`/`"api_key": "..."` assignments). Contextual rules only fire on a value that
looks like a credential (not a number under 8 digits, not a placeholder like `${VAR}`/`***`/`null`,
not a plain short word), so commit hashes, UUIDs, timestamps, versions and `TOKEN_TTL=3600`
survive. Redaction is idempotent: a `[REDACTED:...]` marker never matches any rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MARKER_RE", "find_secrets", "redact"]

MARKER_RE = re.compile(r"\[REDACTED:[a-z_]+\]")


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    group: int = 0  # the group holding the secret (the rest of the match is kept)
    accept: Callable[[str], bool] | None = None  # extra check on the secret text


def _marker(kind: str) -> str:
    return f"[REDACTED:{kind}]"


_TRIVIAL_VALUES = {
    "null",
    "none",
    "nil",
    "true",
    "false",
    "yes",
    "no",
    "undefined",
    "empty",
    "redacted",
    "masked",
    "secret",
    "password",
    "token",
    "changeit_placeholder",
    "example",
    "placeholder",
    "required",
    "optional",
    "string",
    "str",
    "int",
    "bool",
    "hidden",
    "unset",
    "default",
    "env",
    "value",
}


def _credential_like(value: str) -> bool:
    """True when an assigned value plausibly is a credential rather than a number, word or placeholder."""
    v = value.strip().strip("\"'`")
    if len(v) < 6 or "[REDACTED:" in v:
        return False
    if v.lower() in _TRIVIAL_VALUES:
        return False
    if v.isdigit() and len(v) < 8:
        return False
    if re.fullmatch(r"[*xX#•.\-_]+", v):  # already masked: ******, xxxx, ----
        return False
    if v.startswith(("$", "{{", "<", "%(", "#{")) or re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", v):
        return False  # a reference to a variable or a template, not the secret itself
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\(.*\)?", v) or re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", v):
        return False  # code: os.getenv(...), settings.api_key
    if re.fullmatch(r"https?://\S+", v) and "@" not in v:
        return False  # a URL value (password_reset_url = https://...), handled by the URL rule
    if re.fullmatch(r"[A-Za-z]+", v) and len(v) < 12:
        return False  # a short plain word ("expired", "invalid") is prose, not a secret
    return not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?", v)


_SECRET_WORDS = (
    r"password|passwd|passphrase|pwd|pass|secret|secret[_-]?key|token|api[_-]?key|apikey|access[_-]?key"
    r"|access[_-]?key[_-]?id|private[_-]?key|auth[_-]?token|client[_-]?secret|credentials?|auth"
    r"|session[_-]?key|signing[_-]?key|encryption[_-]?key|webhook[_-]?secret|dsn|_authtoken"
)
# A key that *ends* with a secret word: DB_PASSWORD, aws_secret, "apiKey", github.token; not TOKEN_TTL.
_KEY = rf"(?:[A-Za-z0-9_.\-]*?[_.\-])?(?:{_SECRET_WORDS})"
_VALUE = r"(\"[^\"\n]{1,300}\"|'[^'\n]{1,300}'|[^\s,;'\"}\])(\[]{1,300}+(?![(\[]))"

_RULES: list[_Rule] = [
    _Rule(
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*?(?=\n\s*\n)|[\s\S]*\Z)"
        ),
    ),
    _Rule(
        "aws_access_key",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Z0-9])"),
    ),
    _Rule(
        "aws_secret_key",
        re.compile(
            r"(?i)(?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key|aws_?secret)"
            r"[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        group=1,
    ),
    _Rule("github_token", re.compile(r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36,255}\b")),
    _Rule("github_token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b")),
    _Rule("atlassian_token", re.compile(r"\b(?:ATATT|ATCTT|ATOAT)[A-Za-z0-9_\-=]{20,}")),
    _Rule("bitbucket_app_password", re.compile(r"\bATBB[A-Za-z0-9]{24,}\b")),
    _Rule("slack_token", re.compile(r"\bxox[abposre]-[A-Za-z0-9\-]{10,}")),
    _Rule(
        "slack_webhook",
        re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
    ),
    _Rule("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    _Rule("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])")),
    _Rule("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    _Rule("sendgrid_key", re.compile(r"\bSG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}\b")),
    _Rule("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b")),
    _Rule("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|ant-)?[A-Za-z0-9_\-]{32,}\b")),
    _Rule("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    # scheme://user:password@host -> keep the user.
    _Rule(
        "url_password",
        re.compile(
            r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s:/@\[\]]{1,100}:([^\s@/\[\]]{1,200})@[A-Za-z0-9\[]"
        ),
        group=1,
        accept=lambda v: not v.startswith(("$", "{{", "%", "<")),
    ),
    _Rule(
        "authorization",
        re.compile(r"(?i)\b(?:bearer|basic|token)\s+([A-Za-z0-9._~+/\-]{16,}=*)"),
        group=1,
        accept=lambda v: not re.fullmatch(r"[a-z]+", v),
    ),
    _Rule(
        "authorization",
        re.compile(
            r"(?i)\bauthorization[\"']?\s*[:=]\s*[\"']?(?!bearer\b|basic\b|token\b)([A-Za-z0-9._~+/\-]{16,}=*)"
        ),
        group=1,
    ),
    # Command-line flags: --password=xyz / --token xyz
    _Rule(
        "password",
        re.compile(rf"(?i)(?<![A-Za-z0-9_])--?(?:{_SECRET_WORDS})(?:=|\s+){_VALUE}"),
        group=1,
        accept=_credential_like,
    ),
    # Assignments: env (KEY=value), yaml (key: value), json ("key": "value"), code (key = "value").
    _Rule(
        "secret",
        re.compile(
            rf"(?i)(?<![A-Za-z0-9])(?:\"{_KEY}\"|'{_KEY}'|{_KEY})"
            rf"(?:\s*(?::=|=>|=)\s*|\s*:\s+|(?<=[\"'])\s*:\s*){_VALUE}"
        ),
        group=1,
        accept=_credential_like,
    ),
]


def _apply(text: str, collect: list[str] | None) -> str:
    for rule in _RULES:
        out: list[str] = []
        pos = 0
        for m in rule.pattern.finditer(text):
            start, end = m.span(rule.group)
            if start < 0:
                continue
            value = m.group(rule.group)
            if not value or "[REDACTED:" in value:
                continue
            if rule.accept is not None and not rule.accept(value):
                continue
            # Keep surrounding quotes of a quoted assignment value.
            if value[:1] in "\"'" and value[-1:] == value[:1] and len(value) >= 2:
                start, end, value = start + 1, end - 1, value[1:-1]
            if collect is not None:
                collect.append(value)
            out.append(text[pos:start])
            out.append(_marker(rule.kind))
            pos = end
        if out:
            out.append(text[pos:])
            text = "".join(out)
    return text


def redact(text: str) -> str:
    """Replace every secret in `text` with `[REDACTED:<kind>]`; innocent text is returned unchanged."""
    if not text:
        return text
    return _apply(text, None)


def find_secrets(text: str) -> list[str]:
    """The secret substrings `redact` would replace, in rule order."""
    found: list[str] = []
    if text:
        _apply(text, found)
    return found
