"""Shared fixture: the OpenAI-compatible test double on a loopback port, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bbscout.sandbox.llm_double import LLMDoubleServer


@pytest.fixture
def double() -> Iterator[LLMDoubleServer]:
    with LLMDoubleServer() as server:
        yield server
