"""Async, read-only, frugal client for the Bitbucket Cloud REST API 2.0.

    from bbscout.tools.bitbucket import BitbucketClient, BasicAuth, bbql

    async with BitbucketClient(workspace="acme", auth=BasicAuth("me@acme.io", token)) as bb:
        pr = await bb.get_json(bb.repo_path("api", "pullrequests", 3))
        q = bbql.all_of(bbql.cond("state", "=", "MERGED"), bbql.cond("title", "~", user_text))
        async for pr in bb.paginate(bb.repo_path("api", "pullrequests"), {"q": q, "state": "MERGED"}):
            ...

Errors: see `tools.bitbucket._errors` for the exception tree (`BitbucketError` at the root).
"""

from __future__ import annotations

from bbscout.tools.bitbucket import bbql
from bbscout.tools.bitbucket._auth import BasicAuth, BearerAuth
from bbscout.tools.bitbucket._cache import ResponseCache
from bbscout.tools.bitbucket._client import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_REDIRECTS,
    BitbucketClient,
    RequestCount,
    count_requests,
    last_endpoint,
    valid_workspace,
)
from bbscout.tools.bitbucket._errors import (
    AuthError,
    BadRequest,
    BitbucketError,
    BudgetExhausted,
    DeadlineExceeded,
    Gone,
    InvalidResponse,
    NotFound,
    RateLimited,
    ReadOnlyViolation,
    ScopeError,
    ServerError,
    TransportFailure,
)
from bbscout.tools.bitbucket._models import (
    Account,
    Branch,
    CodeSearchMatch,
    Commit,
    CommitStatus,
    Deployment,
    DiffStat,
    Environment,
    Paginated,
    Pipeline,
    PipelineStep,
    PullRequest,
    Repository,
    TestCase,
    TestReport,
    Workspace,
    WorkspaceAccess,
)
from bbscout.tools.bitbucket._pagination import max_pagelen
from bbscout.tools.bitbucket._retry import DEFAULT_RETRY, RetryConfig
from bbscout.tools.bitbucket._shared import COALESCE_SECONDS, credential_identity
from bbscout.tools.bitbucket._stats import EndpointStats, RequestEvent, RequestStats, endpoint_template
from bbscout.tools.bitbucket._store import MemoryStore, Store, Usage, open_store
from bbscout.tools.bitbucket._urls import check_base_url, is_loopback

__all__ = [
    "COALESCE_SECONDS",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_RETRY",
    # resource models
    "Account",
    "AuthError",
    "BadRequest",
    "BasicAuth",
    "BearerAuth",
    # client and configuration
    "BitbucketClient",
    # errors
    "BitbucketError",
    "Branch",
    "BudgetExhausted",
    "CodeSearchMatch",
    "Commit",
    "CommitStatus",
    "DeadlineExceeded",
    "Deployment",
    "DiffStat",
    "EndpointStats",
    "Environment",
    "Gone",
    "InvalidResponse",
    "MemoryStore",
    "NotFound",
    "Paginated",
    "Pipeline",
    "PipelineStep",
    "PullRequest",
    "RateLimited",
    "ReadOnlyViolation",
    "Repository",
    "RequestCount",
    "RequestEvent",
    "RequestStats",
    "ResponseCache",
    "RetryConfig",
    "ScopeError",
    "ServerError",
    "Store",
    "TestCase",
    "TestReport",
    "TransportFailure",
    "Usage",
    "Workspace",
    "WorkspaceAccess",
    "bbql",
    "check_base_url",
    "count_requests",
    "credential_identity",
    "endpoint_template",
    "is_loopback",
    "last_endpoint",
    "max_pagelen",
    "open_store",
    "valid_workspace",
]
