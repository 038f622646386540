"""What every surface checks before it runs a question: plain text, and when an investigation began."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bbscout.agent.questions import symptom_onset
from bbscout.agent.settings import ConfigError

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("symptom", "tz", "began"),
    [
        ("checkout errors since 14:05 UTC", "UTC", datetime(2026, 12, 4, 14, 5, tzinfo=UTC)),
        ("payments 504s started at 9am", "Europe/Berlin", datetime(2026, 12, 4, 8, 0, tzinfo=UTC)),
        ("login failures for the last 30 minutes", "UTC", datetime(2026, 12, 4, 14, 30, tzinfo=UTC)),
    ],
)
def test_the_onset_is_read_from_the_symptom_in_the_users_zone(symptom: str, tz: str, began: datetime) -> None:
    assert symptom_onset(symptom, None, NOW, tz) == began


def test_a_given_time_wins_over_the_words() -> None:
    given = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    assert symptom_onset("checkout errors since 14:05 UTC", given, NOW, "UTC") == given


def test_no_time_given_nor_said_is_a_config_error_saying_both_ways() -> None:
    with pytest.raises(ConfigError) as raised:
        symptom_onset("checkout is broken", None, NOW, "UTC")
    assert "since 14:05 UTC" in str(raised.value) and "--at" in str(raised.value)
