"""Why a failed pipeline failed, in one clause, for any answer that leads with it.

Pipelines answers ("why did the deploy pipeline fail?") and build incidents ("which PR broke main?") both
put the cause in their first sentence: the pipeline's own error, else its first failed step and the line
of its log that says what went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bbscout.tools.evidence import PipelineRecord, StepRecord

__all__ = ["error_line", "failed_steps", "failure_cause"]

FAILED = ("FAILED", "ERROR")
_EXCEPTION = re.compile(r"^E\s+\S|\b\w*(?:Error|Exception|Timeout)\b|\bTraceback\b|\bpanic:")


def _clip(text: str, limit: int) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def error_line(lines: Sequence[str]) -> str:
    """The line that says what went wrong: an exception ("E   KeyError: 'x'") before an assertion's echo."""
    text = [x.strip() for x in lines if x.strip()]
    return next((x for x in text if _EXCEPTION.search(x)), text[0] if text else "")


def failed_steps(pipeline: PipelineRecord, steps: Iterable[StepRecord]) -> list[StepRecord]:
    """The failed steps of `pipeline` among `steps` (one per ref)."""
    prefix = f"step:{pipeline.repo}#{pipeline.build_number}/"
    unique = {s.ref: s for s in steps}
    return [s for s in unique.values() if s.ref.startswith(prefix) and s.result in FAILED]


def failure_cause(pipeline: PipelineRecord, steps: Iterable[StepRecord]) -> str:
    """Its error, else its failed step and first error line; "" when the failure was not read."""
    if pipeline.error_message:
        return _clip(pipeline.error_message, 160)
    failed = failed_steps(pipeline, steps)
    if not failed:
        return ""
    step = failed[0]
    line = error_line(step.error_lines)
    return f"step “{step.name}” {step.result}" + (f": {_clip(line, 140)}" if line else "")
