"""Injected infrastructure faults: latency, stalls, 5xx, 429 bursts and truncated bodies.

Every draw comes from the injector's own `random.Random(seed)`, so a run with the same profile and
the same request sequence meets the same faults. `FaultLog` records each one so tests can assert it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["FAULT_PROFILES", "FaultDecision", "FaultInjector", "FaultLog", "FaultProfile"]


@dataclass(frozen=True)
class FaultProfile:
    latency_ms: float = 0
    jitter_ms: float = 0
    error_rate: float = 0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    burst_429: int = 0
    burst_every: int = 50
    retry_after_s: float = 1
    truncate_rate: float = 0
    stall_rate: float = 0
    stall_s: float = 30
    seed: int = 0


FAULT_PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile(),
    "flaky": FaultProfile(error_rate=0.05, latency_ms=50, jitter_ms=20),
    "storm429": FaultProfile(burst_429=5, burst_every=20, retry_after_s=1),
    "slow": FaultProfile(latency_ms=100),
    "chaos": FaultProfile(
        latency_ms=20,
        jitter_ms=20,
        error_rate=0.05,
        burst_429=3,
        burst_every=40,
        truncate_rate=0.02,
        stall_rate=0.01,
        stall_s=5,
    ),
}


@dataclass
class FaultLog:
    """(request path+query, kind, status) for every injected fault; kind is one of
    "latency", "stall", "error", "burst_429", "truncate"."""

    entries: list[tuple[str, str, int]] = field(default_factory=list)

    def record(self, path: str, kind: str, status: int) -> None:
        self.entries.append((path, kind, status))

    def kinds(self) -> list[str]:
        return [k for _, k, _ in self.entries]

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class FaultDecision:
    delay_s: float = 0.0
    status: int | None = None  # answer this instead of the real response
    kind: str | None = None
    retry_after_s: float | None = None
    truncate: bool = False


class FaultInjector:
    """Draws faults per request. Re-seeds itself when the profile object changes."""

    def __init__(self) -> None:
        self._profile: FaultProfile | None = None
        self._rng = random.Random(0)
        self._count = 0

    def decide(self, profile: FaultProfile, path: str, log: FaultLog) -> FaultDecision:
        if profile is not self._profile:
            self._profile = profile
            self._rng = random.Random(profile.seed)
            self._count = 0
        self._count += 1
        rng, d = self._rng, FaultDecision()
        if profile.stall_rate and rng.random() < profile.stall_rate:
            d.delay_s += profile.stall_s
            log.record(path, "stall", 0)
        if profile.latency_ms or profile.jitter_ms:
            ms = profile.latency_ms + (rng.uniform(0, profile.jitter_ms) if profile.jitter_ms else 0)
            d.delay_s += ms / 1000
            log.record(path, "latency", 0)
        if profile.burst_429 and profile.burst_every > 0:
            cycle = profile.burst_every + profile.burst_429
            if (self._count - 1) % cycle >= profile.burst_every:
                d.status, d.kind, d.retry_after_s = 429, "burst_429", profile.retry_after_s
                log.record(path, "burst_429", 429)
                return d
        if profile.error_rate and rng.random() < profile.error_rate:
            d.status, d.kind = rng.choice(profile.error_statuses), "error"
            log.record(path, "error", d.status)
            return d
        if profile.truncate_rate and rng.random() < profile.truncate_rate:
            d.truncate = True
        return d
