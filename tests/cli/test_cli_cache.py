"""The shared cache from the command line: a second run is cheaper, the hour's count is shared between
runs, `bbscout cache clear` empties the cache, a broken cache file or a bad Redis URL is no traceback."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import NOW, Run, assert_no_traceback

QUESTION = "What pipelines failed in the last 24 hours?"


def stats(result: object) -> dict[str, object]:
    return json.loads(result.stdout)["stats"]  # type: ignore[attr-defined, no-any-return]


def test_second_run_is_served_from_the_cache_and_clear_empties_it(
    bbscout: Run, clean_env: dict[str, str]
) -> None:
    first = bbscout("ask", QUESTION, "--json", "--now", NOW, "--planner", "rules")
    second = bbscout("ask", QUESTION, "--json", "--now", NOW, "--planner", "rules")
    assert first.returncode in (0, 1) and second.returncode in (0, 1), first.stderr[-2000:]
    cold, warm = stats(first), stats(second)
    assert int(warm["cache_hits"]) > int(cold["cache_hits"])  # type: ignore[arg-type]
    assert int(warm["http_requests"]) < int(cold["http_requests"])  # type: ignore[arg-type]
    # one hourly ledger for both processes: the second run starts from what the first left
    cold_left, warm_left = int(cold["requests_left_this_hour"]), int(warm["requests_left_this_hour"])  # type: ignore[arg-type]
    assert cold_left <= 1000 - int(cold["http_requests"])  # type: ignore[arg-type]
    assert cold_left - warm_left in (int(warm["http_requests"]), int(warm["http_requests"]) + 1)  # type: ignore[arg-type]
    assert "left this hour" in second.stderr
    cleared = bbscout("cache", "clear")
    assert cleared.returncode == 0 and "Removed" in cleared.stdout
    assert str(Path(clean_env["BBSCOUT_CACHE_DIR"]) / "cache.sqlite") in cleared.stdout
    third = bbscout("ask", QUESTION, "--json", "--now", NOW, "--planner", "rules")
    assert stats(third)["http_requests"] == cold["http_requests"]


def test_a_corrupt_cache_file_is_rebuilt(bbscout: Run, clean_env: dict[str, str]) -> None:
    cache = Path(clean_env["BBSCOUT_CACHE_DIR"])
    cache.mkdir(parents=True)
    (cache / "cache.sqlite").write_bytes(b"garbage, not SQLite" * 500)
    result = bbscout("ask", QUESTION, "--json", "--now", NOW, "--planner", "rules")
    assert_no_traceback(result)
    assert result.returncode in (0, 1)
    assert "rebuilt" in result.stderr


def test_a_bad_redis_url_is_a_usage_error(bbscout: Run) -> None:
    result = bbscout("ask", QUESTION, "--now", NOW, env={"BBSCOUT_REDIS_URL": "http://localhost:6379"})
    assert_no_traceback(result)
    assert result.returncode == 2 and "BBSCOUT_REDIS_URL must start with" in result.stderr


def test_redis_shares_the_cache_between_runs(bbscout: Run, redis_url: str) -> None:
    env = {"BBSCOUT_REDIS_URL": redis_url}
    first = bbscout("ask", QUESTION, "--json", "--now", NOW, "--planner", "rules", env=env)
    second = bbscout("ask", QUESTION, "--json", "--now", NOW, "--planner", "rules", env=env)
    assert first.returncode in (0, 1), first.stderr[-2000:]
    assert int(stats(second)["cache_hits"]) > int(stats(first)["cache_hits"])  # type: ignore[arg-type]
    cleared = bbscout("cache", "clear", env=env)
    assert cleared.returncode == 0 and "redis://127.0.0.1:" in cleared.stdout
