"""Retry policy: a config value object plus pure helpers (backoff, `Retry-After` parsing).

Retried: 429 (honouring `Retry-After` when present), 500/502/503/504, Bitbucket's 555 timeout
(once only: it means "diff/listing too large", which rarely fixes itself), timeouts, connection
errors and truncated/invalid JSON bodies. Never retried: other 4xx.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["DEFAULT_RETRY", "RETRY_STATUSES", "RetryConfig", "backoff_delay", "parse_retry_after"]

RETRY_STATUSES: frozenset[int] = frozenset({500, 502, 503, 504, 555})
ONCE_STATUSES: frozenset[int] = frozenset({555})
MAX_RETRY_AFTER = 86_400.0  # a day: longer waits say the same thing


@dataclass(frozen=True)
class RetryConfig:
    """`max_attempts` counts the first try; delays in seconds; `jitter` is a ± fraction of the delay."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("delays must be >= 0 and jitter within [0, 1]")


DEFAULT_RETRY = RetryConfig()


def backoff_delay(attempt: int, config: RetryConfig, rng: random.Random) -> float:
    """Delay before attempt `attempt + 1` (attempt is 1-based): base * 2**(attempt-1) ± jitter, capped."""
    raw = min(config.max_delay, config.base_delay * 2.0 ** (attempt - 1))
    if config.jitter:
        raw *= 1 + config.jitter * rng.uniform(-1.0, 1.0)
    return max(0.0, min(config.max_delay, raw))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))  # `inf`, `1e400`: "a long time", not an overflow
