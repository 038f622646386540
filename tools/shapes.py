"""The trust boundary between Bitbucket's JSON and the typed evidence records.

A record builder reads a raw object that a server (or a proxy, or an attacker) chose. When it does
not fit, the record is *unreadable*: it is counted under a label ("pipelines from api-gateway") and
left out, and `run_tool` turns the count into a gap, so the answer says what it could not read
instead of silently answering without it. A tool that cannot go on at all because of a bad shape
raises `InvalidResponse` naming the endpoint (`shape_error`), never a Python traceback.

    pipes = readable(ctx, f"pipelines from {slug}", lambda raw: pipeline_record(ws, slug, raw), items)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from bbscout.tools.bitbucket import InvalidResponse, last_endpoint

__all__ = [
    "DATA_ERRORS",
    "Unreadable",
    "need_int",
    "need_str",
    "read_all",
    "readable",
    "shape_error",
    "unread_gaps",
]

logger = logging.getLogger("bbscout.tools")
R = TypeVar("R")

# What reading a wrongly-shaped object raises (pydantic's ValidationError is a ValueError).
DATA_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    OverflowError,
    RecursionError,
)


class Unreadable(ValueError):
    """A record lacks what identifies it (a pipeline without a build number, a PR without an id)."""


def need_int(value: Any, what: str) -> int:
    """`value` as an int (a JSON number or a string of digits), else Unreadable."""
    if isinstance(value, bool):
        raise Unreadable(f"{what} is a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise Unreadable(f"{what} is missing or not a number")


def need_str(value: Any, what: str) -> str:
    """`value` as a non-empty string, else Unreadable."""
    if isinstance(value, str) and value.strip():
        return value
    raise Unreadable(f"{what} is missing or not a string")


def readable(ctx: Any, label: str, build: Callable[[Any], R], raw: Any) -> R | None:
    """`build(raw)`, or None after counting `raw` as unreadable under `label`."""
    try:
        return build(raw)
    except DATA_ERRORS as exc:
        logger.debug("unreadable %s: %s: %s", label, type(exc).__name__, exc)
        ctx.unreadable[label] += 1
        return None


def read_all(ctx: Any, label: str, build: Callable[[Any], R], items: Iterable[Any]) -> list[R]:
    """Every readable record of `items` (the others counted under `label`)."""
    return [rec for raw in items if (rec := readable(ctx, label, build, raw)) is not None]


def unread_gaps(ctx: Any) -> list[str]:
    """Gap lines for what became unreadable since the last call (tool records and skipped list items)."""
    counts: dict[str, int] = dict(ctx.unreadable)
    for endpoint, n in getattr(ctx.client, "unreadable", {}).items():
        counts[f"list items from {endpoint}"] = counts.get(f"list items from {endpoint}", 0) + n
    gaps = []
    for label, total in sorted(counts.items()):
        new = total - ctx.unreadable_reported.get(label, 0)
        if new > 0:
            gaps.append(
                f"{new} {label} could not be read (Bitbucket sent data of an unexpected shape); left out"
            )
        ctx.unreadable_reported[label] = total
    return gaps


def shape_error(where: str, exc: BaseException) -> InvalidResponse:
    """The typed error for data a tool could not read at all, naming the endpoint it came from."""
    logger.debug("%s could not read Bitbucket's answer", where, exc_info=exc)
    return InvalidResponse(
        f"{where}: Bitbucket sent data of an unexpected shape ({type(exc).__name__})",
        endpoint=last_endpoint(),
    )
