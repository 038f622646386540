"""The report both reporters produce; `agent.verify` checks it and `agent.output` renders it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    detail: str
    refs: list[str] = Field(default_factory=list)


class TimelineEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime
    what: str
    ref: str


class Suspect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str  # the PR, commit or deployment suspected
    score: float
    reasons: list[str]
    related_refs: list[str] = Field(default_factory=list)


class RuledOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str
    reason: str


class Report(BaseModel):
    """Answer first; `entities` are the refs of exactly the objects the answer reports."""

    model_config = ConfigDict(extra="forbid")

    answer: str  # markdown
    entities: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    suspects: list[Suspect] = Field(default_factory=list)
    ruled_out: list[RuledOut] = Field(default_factory=list)
    next_step: str | None = None
    confidence: Literal["high", "medium", "low"] | None = None
    gaps: list[str] = Field(default_factory=list)
