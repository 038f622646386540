"""bbscout: sandbox/world — seeded, Bitbucket-shaped worlds with planted incidents."""

from bbscout.sandbox.world.generator import WORLD_NAMES, build_world, hour_anchor
from bbscout.sandbox.world.model import Account, FileChange, RepoData, Scenario, Token, World

__all__ = [
    "WORLD_NAMES",
    "Account",
    "FileChange",
    "RepoData",
    "Scenario",
    "Token",
    "World",
    "build_world",
    "hour_anchor",
]
