"""Intake: the question's time window and entity hints, before any planning.

`parse_window` turns time expressions into an absolute UTC `Window`; `understand` adds repositories,
branch, authors, states and the rest as a JSON-plain `Understanding`.
"""

from bbscout.agent.intake.entities import RepoMention, Understanding, incident_kind, understand
from bbscout.agent.intake.time import parse_instant, parse_window

__all__ = ["RepoMention", "Understanding", "incident_kind", "parse_instant", "parse_window", "understand"]
