"""The run's progress events (planned, step_started, step_finished, reported) as one plain line each.

Surfaces show progress in their own way (an MCP progress notification, one Slack message updated
in place); the words are the same everywhere. Lines hold tool arguments, which may quote the
question or a repository name: callers neutralise them for their medium.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProgressLog", "progress_line"]


def progress_line(event: dict[str, Any]) -> str | None:
    """One line for an event, or None for events a person need not see."""
    kind = event.get("event")
    if kind == "planned":
        steps = int(event.get("steps", 0))
        return f"plan: {event.get('intent', '')} ({steps} call{'s' if steps != 1 else ''})"
    if kind == "step_started":
        return f"→ {event.get('tool')} {event.get('args', '')}".rstrip()
    if kind == "step_finished":
        mark = "✓" if event.get("status") == "ok" else "!"
        return (
            f"{mark} {event.get('tool')} {event.get('args', '')} · {event.get('requests', 0)} req · "
            f"{event.get('records', 0)} records · {event.get('status')}"
        )
    if kind == "reported":
        return "writing the answer"
    return None


@dataclass
class ProgressLog:
    """The progress so far: the plan line, each call as one line (a finish replaces its start)."""

    lines: list[str] = field(default_factory=list)
    _started: dict[str, int] = field(default_factory=dict)

    def add(self, event: dict[str, Any]) -> bool:
        """Fold one event in; True when the visible text changed."""
        line = progress_line(event)
        if line is None:
            return False
        step = str(event.get("step_id", ""))
        if event.get("event") == "step_finished" and step in self._started:
            self.lines[self._started.pop(step)] = line
        else:
            if event.get("event") == "step_started":
                self._started[step] = len(self.lines)
            self.lines.append(line)
        return True

    def text(self, last: int = 12) -> str:
        """The newest `last` lines (a long plan shows how many came before)."""
        shown = self.lines[-last:]
        hidden = len(self.lines) - len(shown)
        return "\n".join(([f"… {hidden} earlier"] if hidden else []) + shown)
