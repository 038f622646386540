"""Public BBQL builder (`tools.bitbucket.bbql`); see `tools.bitbucket._bbql` for the quoting rules."""

from __future__ import annotations

from bbscout.tools.bitbucket._bbql import (
    OPERATORS,
    AllOf,
    AnyOf,
    Condition,
    Query,
    all_of,
    any_of,
    cond,
    quote,
)

__all__ = ["OPERATORS", "AllOf", "AnyOf", "Condition", "Query", "all_of", "any_of", "cond", "quote"]
