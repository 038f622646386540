"""Every tool argument the rules planner fills, set by at least three phrasings; and a constraint no
argument can apply, said in the answer's first line and in `gaps` (agent.coverage).

The slots are the tools' arguments (`agent.planners.slots`): each row below names a tool, one of its
arguments, a question, and the value the question must set it to (a callable checks values that depend
on the clock or the order of repositories).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bbscout.agent.coverage import honour_constraints
from bbscout.agent.plan import Plan
from bbscout.agent.planners.rules import build_plan
from bbscout.agent.planners.slots import SLOTS
from bbscout.agent.planners.table import INTENTS
from bbscout.agent.report import Report
from bbscout.tools.args import TOOL_ARGS
from tests.agent.fixtures import plan_request

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)  # Sunday


def plan(question: str) -> Plan:
    return build_plan(plan_request(question, NOW))


def since_of(day: str) -> Callable[[Any], bool]:
    return lambda value: str(value).startswith(day)


FAILED = ["FAILED", "ERROR"]
ANY_PR = ["OPEN", "MERGED", "DECLINED"]

# (tool, argument, question, expected value or a check of it)
CASES: list[tuple[str, str, str, Any]] = [
    # --- list_pipelines
    ("list_pipelines", "repos", "failed builds in checkout", ["checkout-service"]),
    ("list_pipelines", "repos", "pipelines for the payments service today", ["payments-service"]),
    ("list_pipelines", "repos", "did anything break in apigateway yesterday?", ["api-gateway"]),
    ("list_pipelines", "results", "what failed in the last 24 hours", FAILED),
    ("list_pipelines", "results", "green builds on main in auth-service", ["SUCCESSFUL"]),
    ("list_pipelines", "results", "cancelled pipelines this week", ["STOPPED"]),
    ("list_pipelines", "in_progress", "what's running right now", True),
    ("list_pipelines", "in_progress", "anything queued up waiting to run?", True),
    ("list_pipelines", "in_progress", "which builds are in progress in mobile-app", True),
    ("list_pipelines", "branch", "failed builds on develop", "develop"),
    ("list_pipelines", "branch", "did feature/new-cart fail in checkout?", "feature/new-cart"),
    ("list_pipelines", "branch", "red builds on the release/2.4 branch in payments", "release/2.4"),
    (
        "list_pipelines",
        "branch_like",
        "show me the builds for the renovate nestjs branch",
        ["renovate", "nestjs"],
    ),
    (
        "list_pipelines",
        "branch_like",
        "did the s3 export retries branch fail in data-pipeline?",
        ["s3", "export", "retries"],
    ),
    ("list_pipelines", "branch_like", "failed builds on the release branches in checkout", ["release/"]),
    ("list_pipelines", "trigger", "manual pipelines today", "MANUAL"),
    ("list_pipelines", "trigger", "nightly builds that failed this week", "SCHEDULED"),
    ("list_pipelines", "trigger", "pipelines triggered on push in checkout today", "PUSH"),
    ("list_pipelines", "pr_id", "pipelines for PR 12 in checkout", 12),
    ("list_pipelines", "pr_id", "builds of pull request #7 in payments", 7),
    ("list_pipelines", "pr_id", "ci runs for PR 31 in auth-service", 31),
    ("list_pipelines", "since", "failed builds since Monday", since_of("2026-11-23T00:00")),
    ("list_pipelines", "since", "what failed over the weekend", since_of("2026-11-28T00:00")),
    ("list_pipelines", "since", "failed pipelines in the last fortnight", since_of("2026-11-15T15:30")),
    ("list_pipelines", "until", "what failed over the weekend", since_of("2026-11-29T15:30")),
    ("list_pipelines", "until", "failed pipelines yesterday", since_of("2026-11-29T00:00")),
    (
        "list_pipelines",
        "until",
        "builds that errored between Monday and Wednesday",
        since_of("2026-11-26T00"),
    ),
    ("list_pipelines", "pick", "the latest successful build on main in api-gateway", "newest"),
    ("list_pipelines", "pick", "what was the most recent failed pipeline in checkout", "newest"),
    ("list_pipelines", "pick", "the oldest failed build in payments", "oldest"),
    ("list_pipelines", "limit", "top 5 failed builds", 5),
    ("list_pipelines", "limit", "last 10 pipelines in checkout", 10),
    ("list_pipelines", "limit", "the 3 most recent failed builds on main", 3),
    # --- list_pull_requests
    ("list_pull_requests", "repos", "open PRs in checkout", ["checkout-service"]),
    ("list_pull_requests", "repos", "open pull requests for the web app", ["web-frontend"]),
    ("list_pull_requests", "repos", "PRs in webfrontend merged since Monday", ["web-frontend"]),
    ("list_pull_requests", "states", "merged PRs this week", ["MERGED"]),
    ("list_pull_requests", "states", "declined pull requests since Monday", ["DECLINED"]),
    ("list_pull_requests", "states", "renovate PRs that haven't been merged yet", ["OPEN"]),
    ("list_pull_requests", "states", "what did the renovate bot open this week", ANY_PR),
    ("list_pull_requests", "author", "PRs by Priya", "Priya"),
    ("list_pull_requests", "author", "Hannah's pull requests this week", "Hannah"),
    ("list_pull_requests", "author", "what has dependabot opened?", "dependabot"),
    ("list_pull_requests", "author", "has Hannah had any PRs declined?", "Hannah"),
    ("list_pull_requests", "reviewer", "open PRs in checkout with Sofia as a reviewer", "Sofia"),
    ("list_pull_requests", "reviewer", "declined PRs where hannah was asked to review", "hannah"),
    ("list_pull_requests", "reviewer", "PRs reviewed by Marcus last week", "Marcus"),
    ("list_pull_requests", "reviewer", "which PRs did Sofia review?", "Sofia"),
    ("list_pull_requests", "approver", "PRs approved by Marcus", "Marcus"),
    ("list_pull_requests", "approver", "merged PRs Emma approved", "Emma"),
    ("list_pull_requests", "approver", "which pull requests did Daniel approve this week?", "Daniel"),
    ("list_pull_requests", "participant", "PRs Noah commented on", "Noah"),
    ("list_pull_requests", "participant", "pull requests involving Raj", "Raj"),
    ("list_pull_requests", "participant", "which PRs in payments did Aisha comment on", "Aisha"),
    ("list_pull_requests", "text", "merged PRs that talk about Stripe", "Stripe"),
    ("list_pull_requests", "text", "PRs mentioning CHK-731", "CHK-731"),
    ("list_pull_requests", "text", "open PRs with 'retry' in the title", "retry"),
    ("list_pull_requests", "text", "is there a PR for the address autocomplete thing?", "autocomplete"),
    ("list_pull_requests", "path", "PRs that touched config/production.yaml", "config/production.yaml"),
    (
        "list_pull_requests",
        "path",
        "which merged PRs changed src/gateway/ratelimit.py",
        "src/gateway/ratelimit.py",
    ),
    ("list_pull_requests", "path", "pull requests touching envs/production in infra", "envs/production"),
    ("list_pull_requests", "path_scan_limit", "PRs in checkout that touched config/production.yaml", 200),
    ("list_pull_requests", "path_scan_limit", "PRs that changed src/x.py in the past two weeks", 200),
    ("list_pull_requests", "path_scan_limit", "merged PRs touching Dockerfile in payments", 200),
    ("list_pull_requests", "destination_branch", "merged PRs into develop this week", "develop"),
    ("list_pull_requests", "destination_branch", "anything open against main in checkout?", "main"),
    ("list_pull_requests", "destination_branch", "PRs targeting release/2.4", "release/2.4"),
    ("list_pull_requests", "source_branch", "open PRs from renovate/lodash-4.x", "renovate/lodash-4.x"),
    ("list_pull_requests", "source_branch", "PRs from feature/new-cart", "feature/new-cart"),
    (
        "list_pull_requests",
        "source_branch",
        "the open PR from the feature/checkout-v2 branch",
        "feature/checkout-v2",
    ),
    ("list_pull_requests", "since", "PRs merged this week", since_of("2026-11-23T00:00")),
    ("list_pull_requests", "since", "declined PRs since Monday", since_of("2026-11-23T00:00")),
    ("list_pull_requests", "since", "PRs opened in the last 5 days", since_of("2026-11-24T15:30")),
    ("list_pull_requests", "until", "PRs merged yesterday", since_of("2026-11-29T00:00")),
    ("list_pull_requests", "until", "merged PRs over the weekend", since_of("2026-11-29T15:30")),
    ("list_pull_requests", "until", "declined PRs last week", since_of("2026-11-23T00:00")),
    ("list_pull_requests", "time_field", "PRs created this week", "created_on"),
    ("list_pull_requests", "time_field", "new pull requests since yesterday", "created_on"),
    ("list_pull_requests", "time_field", "what did dependabot open this week", "created_on"),
    # "the latest PR" is the one opened last; activity only when the question says so (heldout 5)
    ("list_pull_requests", "time_field", "newest pull request in checkout", "created_on"),
    ("list_pull_requests", "time_field", "what's the most recent PR in auth?", "created_on"),
    ("list_pull_requests", "time_field", "show me the last pr on web-frontend", "created_on"),
    ("list_pull_requests", "time_field", "most recently updated PR in checkout", "updated_on"),
    ("list_pull_requests", "time_field", "which PR in payments had the latest activity?", "updated_on"),
    ("list_pull_requests", "awaiting_review", "which PRs are waiting for review", True),
    ("list_pull_requests", "awaiting_review", "PRs nobody has approved yet", True),
    ("list_pull_requests", "awaiting_review", "unreviewed pull requests in checkout", True),
    ("list_pull_requests", "pick", "the most recent merged PR in auth-service", "newest"),
    ("list_pull_requests", "pick", "what's the newest open PR", "newest"),
    ("list_pull_requests", "pick", "the oldest open PR in checkout", "oldest"),
    ("list_pull_requests", "limit", "top 5 open PRs", 5),
    ("list_pull_requests", "limit", "last 3 merged PRs", 3),
    ("list_pull_requests", "limit", "the 10 most recent PRs in payments", 10),
    # --- list_commits
    ("list_commits", "repo", "commits in checkout today", "checkout-service"),
    ("list_commits", "repo", "what landed on mobile-app master this week", "mobile-app"),
    ("list_commits", "repo", "commits to envs/production in infra-terraform", "infra-terraform"),
    ("list_commits", "branch", "commits on develop for auth", "develop"),
    ("list_commits", "branch", "what landed on mobile-app master this week", "master"),
    ("list_commits", "branch", "commits on feature/new-cart in checkout", "feature/new-cart"),
    ("list_commits", "since", "commits in checkout today", since_of("2026-11-29T00:00")),
    ("list_commits", "since", "commits to main in payments over the weekend", since_of("2026-11-28T00:00")),
    ("list_commits", "since", "commits in shared-libs since 2026-11-27", since_of("2026-11-27T00:00")),
    ("list_commits", "until", "commits to main in payments over the weekend", since_of("2026-11-29T15:30")),
    ("list_commits", "until", "commits in auth yesterday", since_of("2026-11-29T00:00")),
    ("list_commits", "until", "commits in checkout last week", since_of("2026-11-23T00:00")),
    (
        "list_commits",
        "time_field",
        "which commits were merged to main in checkout yesterday?",
        "entered_branch",
    ),
    ("list_commits", "time_field", "what landed on main in shared-libs today?", "entered_branch"),
    ("list_commits", "time_field", "which commits went into develop in checkout this week", "entered_branch"),
    ("list_commits", "author", "commits by Daniel Okafor in api-gateway", "Daniel Okafor"),
    ("list_commits", "author", "Priya's commits this week in checkout", "Priya"),
    ("list_commits", "author", "commits from renovate-bot this week", "renovate-bot"),
    ("list_commits", "message_contains", "commits mentioning CHK-731", "CHK-731"),
    ("list_commits", "message_contains", "commits in checkout with 'timeout' in the message", "timeout"),
    ("list_commits", "message_contains", "which commits this week mention a timeout", "timeout"),
    ("list_commits", "path", "commits touching src/app.py in payments", "src/app.py"),
    ("list_commits", "path", "commits to envs/production in infra-terraform", "envs/production"),
    (
        "list_commits",
        "path",
        "which commits changed config/production.yaml in checkout",
        "config/production.yaml",
    ),
    ("list_commits", "merges_only", "which merge commits went into checkout main today?", True),
    ("list_commits", "merges_only", "merge commits on develop in auth this week", True),
    ("list_commits", "merges_only", "merges to master in mobile this week", True),
    ("list_commits", "pick", "what's the latest commit on payments-service main?", "newest"),
    ("list_commits", "pick", "the last commit in checkout", "newest"),
    ("list_commits", "pick", "the oldest commit on develop in auth this week", "oldest"),
    ("list_commits", "limit", "last 10 commits on develop for auth", 10),
    ("list_commits", "limit", "top 5 commits in checkout", 5),
    ("list_commits", "limit", "the 3 most recent commits in payments", 3),
    # --- list_branches
    ("list_branches", "repos", "recent branches in checkout", ["checkout-service"]),
    ("list_branches", "repos", "list branches of the mobile app", ["mobile-app"]),
    ("list_branches", "repos", "stale branches in web-frontend", ["web-frontend"]),
    ("list_branches", "name_contains", "release branches", "release/"),
    ("list_branches", "name_contains", "hotfix branches in checkout", "hotfix/"),
    ("list_branches", "name_contains", "feature branches in payments", "feature/"),
    ("list_branches", "exclude_main", "the newest branch in mobile-app", True),
    ("list_branches", "exclude_main", "what's the most recent branch in checkout", True),
    ("list_branches", "exclude_main", "which branch is the newest?", True),
    ("list_branches", "since", "recent branches in checkout", since_of("2026-11-22T15:30")),
    ("list_branches", "since", "which branches got commits this week?", since_of("2026-11-23T00:00")),
    ("list_branches", "since", "branches with commits since Friday", since_of("2026-11-27T00:00")),
    ("list_branches", "stale_before", "stale branches", since_of("2026-10-30T15:30")),
    (
        "list_branches",
        "stale_before",
        "branches nobody has pushed to in 2 weeks",
        since_of("2026-11-15T15:30"),
    ),
    ("list_branches", "stale_before", "idle branches in checkout", since_of("2026-10-30T15:30")),
    ("list_branches", "pick", "the newest branch in mobile-app", "newest"),
    ("list_branches", "pick", "what's the most recent branch in checkout", "newest"),
    ("list_branches", "pick", "the oldest branch in payments", "oldest"),
    ("list_branches", "limit", "stale branches in auth", 500),
    ("list_branches", "limit", "top 5 branches in checkout", 5),
    ("list_branches", "limit", "the 3 most recent branches in payments", 3),
    # --- list_deployments
    ("list_deployments", "repos", "deploys of checkout this week", ["checkout-service"]),
    ("list_deployments", "repos", "rollbacks in payments-service", ["payments-service"]),
    ("list_deployments", "repos", "deployments of the web app yesterday", ["web-frontend"]),
    ("list_deployments", "environment", "deploys to prod yesterday", "production"),
    ("list_deployments", "environment", "deployments to staging this week", "staging"),
    ("list_deployments", "environment", "what's on the test env in checkout", "test"),
    ("list_deployments", "since", "deploys to prod yesterday", since_of("2026-11-28T00:00")),
    ("list_deployments", "since", "deployments on friday", since_of("2026-11-27T00:00")),
    ("list_deployments", "since", "deploys to staging this fortnight", since_of("2026-11-15T15:30")),
    ("list_deployments", "until", "deploys to prod yesterday", since_of("2026-11-29T00:00")),
    ("list_deployments", "until", "deployments on friday", since_of("2026-11-28T00:00")),
    ("list_deployments", "until", "deploys to staging this fortnight", since_of("2026-11-29T15:30")),
    ("list_deployments", "current", "what is live in prod for auth-service", True),
    ("list_deployments", "current", "what's deployed to production in checkout-service?", True),
    ("list_deployments", "current", "which version is running in production for payments", True),
    ("list_deployments", "latest_per_environment", "latest deployment per environment for checkout", True),
    ("list_deployments", "latest_per_environment", "the latest production deployment of each service", True),
    ("list_deployments", "latest_per_environment", "what changed in the last deployment?", True),
    ("list_deployments", "statuses", "did any deployments fail yesterday?", ["FAILED"]),
    ("list_deployments", "statuses", "successful releases to staging since monday", ["SUCCESSFUL"]),
    ("list_deployments", "statuses", "which deploys were cancelled today", ["STOPPED"]),
    ("list_deployments", "pick", "most recent deploy", "newest"),
    ("list_deployments", "pick", "who deployed checkout-service to prod last?", "newest"),
    ("list_deployments", "pick", "when did auth-service last deploy to prod", "newest"),
    ("list_deployments", "limit", "last 5 deployments to prod", 5),
    ("list_deployments", "limit", "top 3 deploys this week", 3),
    ("list_deployments", "limit", "the 10 most recent deployments in payments", 10),
    # --- deployment_changes
    ("deployment_changes", "repo", "what changed in the last checkout deploy", "checkout-service"),
    (
        "deployment_changes",
        "repo",
        "what shipped in the latest staging release of payments",
        "payments-service",
    ),
    ("deployment_changes", "repo", "commits included in the most recent web-frontend deploy", "web-frontend"),
    (
        "deployment_changes",
        "environment",
        "what shipped in the latest staging release of payments",
        "staging",
    ),
    ("deployment_changes", "environment", "what changed in the last qa deployment of checkout", "test"),
    (
        "deployment_changes",
        "environment",
        "what went out with the last prod deploy of auth-service",
        "production",
    ),
    # --- search_code
    ("search_code", "query", "where is calculate_tax defined", "calculate_tax"),
    ("search_code", "query", "find usages of PaymentGatewayClient", "PaymentGatewayClient"),
    ("search_code", "query", "who calls refund_payment?", "refund_payment"),
    ("search_code", "repos", "find usages of PaymentGatewayClient in payments", ["payments-service"]),
    ("search_code", "repos", "where is calculate_tax defined in checkout", ["checkout-service"]),
    ("search_code", "repos", "grep for 'retry budget' in auth-service", ["auth-service"]),
    ("search_code", "definitions_only", "where is calculate_tax defined?", True),
    ("search_code", "definitions_only", "where's the definition of PaymentGatewayClient", True),
    ("search_code", "definitions_only", "find the implementation of refund_payment in payments", True),
    ("search_code", "limit", "top 5 files that mention client_timeout_ms", 5),
    ("search_code", "limit", "first 3 usages of PaymentGatewayClient", 3),
    ("search_code", "limit", "top 10 files that reference calculate_tax", 10),
    # --- browse_source
    ("browse_source", "repo", "show me config/production.yaml in checkout", "checkout-service"),
    ("browse_source", "repo", "display src/app.py in payments-service", "payments-service"),
    ("browse_source", "repo", "what's in Dockerfile in auth-service?", "auth-service"),
    ("browse_source", "path", "show me config/production.yaml in checkout", "config/production.yaml"),
    ("browse_source", "path", "display src/app.py in payments-service", "src/app.py"),
    ("browse_source", "path", "what's in Dockerfile in auth-service?", "Dockerfile"),
    (
        "browse_source",
        "find",
        "what's the payments client timeout in checkout's prod config?",
        ["prod", "config"],
    ),
    (
        "browse_source",
        "find",
        "show me the variables file of the eks module in the tf repo",
        ["variables", "eks", "module"],
    ),
    ("browse_source", "find", "the staging settings of web-frontend", ["staging", "settings"]),
    ("browse_source", "ref", "show me config/production.yaml on develop in checkout", "develop"),
    ("browse_source", "ref", "open src/app.py on feature/new-cart in payments", "feature/new-cart"),
    ("browse_source", "ref", "cat Dockerfile from the release/2.4 branch of auth-service", "release/2.4"),
    # --- one object by number or hash
    ("get_pipeline", "build_number", "build 5000 in payments", 5000),
    ("get_pipeline", "build_number", "show me pipeline #412 in checkout", 412),
    ("get_pipeline", "build_number", "details of run 77 in auth-service", 77),
    ("get_pipeline", "repo", "build 5000 in payments", "payments-service"),
    ("get_pipeline", "repo", "show me pipeline #412 in checkout", "checkout-service"),
    ("get_pipeline", "repo", "details of run 77 in auth-service", "auth-service"),
    ("pipeline_failure", "build_number", "why did build 412 fail in checkout", 412),
    ("pipeline_failure", "build_number", "logs for build 77 in auth-service", 77),
    ("pipeline_failure", "build_number", "why did pipeline #5000 in payments-service fail?", 5000),
    ("pipeline_failure", "repo", "why did build 412 fail in checkout", "checkout-service"),
    ("pipeline_failure", "repo", "logs for build 77 in auth-service", "auth-service"),
    ("pipeline_failure", "repo", "why did mobile-app build 182 fail", "mobile-app"),
    ("get_pull_request", "pr_id", "show me PR 12 in checkout", 12),
    ("get_pull_request", "pr_id", "what's pull request #7 in payments about", 7),
    ("get_pull_request", "pr_id", "PR 31 in auth-service", 31),
    ("get_pull_request", "repo", "show me PR 12 in checkout", "checkout-service"),
    ("get_pull_request", "repo", "what's pull request #7 in payments about", "payments-service"),
    ("get_pull_request", "repo", "PR 31 in auth-service", "auth-service"),
    ("get_pull_request", "include_diff", "show me PR 12 in checkout with the diff", True),
    ("get_pull_request", "include_diff", "what changed in PR 7 in payments", True),
    ("get_pull_request", "include_diff", "the patch of pull request 31 in auth-service", True),
    ("get_pull_request", "include_comments", "comments on PR 12 in checkout", True),
    ("get_pull_request", "include_comments", "what was the discussion on PR 7 in payments", True),
    ("get_pull_request", "include_comments", "feedback on pull request 31 in auth-service", True),
    ("get_commit", "commit", "get commit 3f2a9c1 in auth", "3f2a9c1"),
    ("get_commit", "commit", "show commit abc1234 in checkout", "abc1234"),
    ("get_commit", "commit", "what is 0f88105 in payments", "0f88105"),
    ("get_commit", "repo", "get commit 3f2a9c1 in auth", "auth-service"),
    ("get_commit", "repo", "show commit abc1234 in checkout", "checkout-service"),
    ("get_commit", "repo", "what is 0f88105 in payments", "payments-service"),
    ("pull_requests_for_commit", "commit", "which PR brought commit 0f88105 in payments", "0f88105"),
    ("pull_requests_for_commit", "commit", "get commit 3f2a9c1 in auth", "3f2a9c1"),
    ("pull_requests_for_commit", "commit", "show commit abc1234 in checkout", "abc1234"),
    ("pull_requests_for_commit", "repo", "which PR brought commit 0f88105 in payments", "payments-service"),
    ("pull_requests_for_commit", "repo", "get commit 3f2a9c1 in auth", "auth-service"),
    ("pull_requests_for_commit", "repo", "show commit abc1234 in checkout", "checkout-service"),
    # --- list_repositories
    ("list_repositories", "name_contains", "repos named payments", "payments"),
    ("list_repositories", "name_contains", "which repositories have 'pay' in their name?", "pay"),
    ("list_repositories", "name_contains", "is there a repo for notifications?", "notification"),
    ("list_repositories", "limit", "top 5 repositories", 5),
    ("list_repositories", "limit", "list the first 3 repos", 3),
    ("list_repositories", "limit", "show the top 10 repositories", 10),
]

# Arguments no question sets: why each one is left to the tool's default or to another path.
NOT_FROM_THE_QUESTION = {
    ("pipeline_failure", "log_tail_lines"): "a bound of the tool, not something people ask for",
    (
        "pipeline_failure",
        "uuid",
    ): "the failure-detail policy passes the listed pipeline's uuid (agent.frugality)",
    ("pipeline_failure", "log"): "the failure-detail policy decides what a summary reads (agent.frugality)",
    ("pipeline_failure", "tests"): "as above",
    (
        "pipeline_failure",
        "test_steps",
    ): "a flaky incident compares the test steps its symptom names (frugality)",
    ("deployment_changes", "files"): "an incident reads each PR's own files in the affected service (review)",
    ("get_commit", "files"): "an incident reads what a failed commit changed when it needs it (review)",
    ("get_commit", "statuses"): "as above: an incident already holds the failed runs",
    ("get_pull_request", "files_only"): "an incident reads a suspect PR's files alone (review)",
    ("list_commits", "repos"): "the rules planner asks per repository (`repo`), each on its own main branch",
    ("deployment_changes", "deployment_uuid"): "set by review or a chat follow-up on a listed deployment",
    ("commits_between", "repo"): "between two deployments: the tools compute it (deployment_changes)",
    ("commits_between", "include"): "as above",
    ("commits_between", "exclude"): "as above",
    ("commits_between", "limit"): "as above",
    ("pull_request_commits", "repo"): "a chat follow-up on a cited PR ('list its commits'; agent.referents)",
    ("pull_request_commits", "pr_id"): "as above",
    ("pull_request_commits", "limit"): "a bound of the tool, not something people ask for",
    (
        "pull_request_files",
        "repo",
    ): "a chat follow-up on cited PRs ('which files did the biggest one touch?')",
    ("pull_request_files", "pr_ids"): "as above",
    ("resolve_repository", "phrase"): "the LLM planner's lookup; intake resolves names for the rules",
    ("resolve_person", "phrase"): "the LLM planner's lookup; the list tools resolve names themselves",
    ("resolve_person", "repos"): "as above",
}


def _arg(p: Plan, tool: str, arg: str) -> Any:
    """The argument of the plan's first `tool` step, the tool's default included (PRs: OPEN)."""
    steps = [s for s in p.steps if s.tool == tool]
    assert steps, f"no {tool} step: {[(s.tool, s.args) for s in p.steps]} ({p.family}, {p.not_understood})"
    return TOOL_ARGS[tool].model_validate(steps[0].args).model_dump(mode="json")[arg]


@pytest.mark.parametrize(
    ("tool", "arg", "question", "expected"), CASES, ids=[f"{c[0]}.{c[1]}:{c[2]}" for c in CASES]
)
def test_a_phrasing_sets_the_argument(tool: str, arg: str, question: str, expected: Any) -> None:
    value = _arg(plan(question), tool, arg)
    if callable(expected):
        assert expected(value), (arg, value)
    else:
        assert value == expected, (arg, value)


def test_every_argument_is_set_by_three_phrasings_or_says_why_not() -> None:
    covered = Counter((tool, arg) for tool, arg, _, _ in CASES)
    for tool, model in TOOL_ARGS.items():
        for arg in model.model_fields:
            if (tool, arg) in NOT_FROM_THE_QUESTION:
                continue
            assert covered[(tool, arg)] >= 3, f"{tool}.{arg}: {covered[(tool, arg)]} phrasings"


def test_slots_are_tool_arguments_and_rows_call_real_tools() -> None:
    arguments = {arg for model in TOOL_ARGS.values() for arg in model.model_fields}
    for key in SLOTS:
        tool, _, arg = key.rpartition(".")
        assert arg in (TOOL_ARGS[tool].model_fields if tool else arguments), key
    for row in INTENTS:
        assert row.tool in TOOL_ARGS and set(row.fixed) <= set(TOOL_ARGS[row.tool].model_fields), row.name


# (question, the filter the plan cannot apply) — the answer's first line and its gaps must say so
UNAPPLIED: list[tuple[str, str]] = [
    ("open PRs labelled bug", "label"),
    ("merged PRs in milestone 2.4", "milestone"),
    ("open PRs with more than 5 comments", "comment count"),
    ("draft PRs in checkout", "state"),
    ("commits in checkout reviewed by Emma this week", "reviewer"),
    ("failed deployments approved by Marcus", "approver"),
    ("failed builds in payments that Noah commented on", "participant"),
    ("deployments to prod by Sofia this week", "author"),
    ("prod deploys mentioning CHK-731", "text"),
    ("failed builds that touched config/production.yaml", "path"),
    ("failed builds in foobarbaz", "repository"),
]


@pytest.mark.parametrize(("question", "filter_"), UNAPPLIED, ids=[q for q, _ in UNAPPLIED])
def test_a_constraint_no_argument_applies_is_said_first(question: str, filter_: str) -> None:
    p = plan(question)
    missing = [c for c in p.constraints if not c.applied and (c.filter or c.kind) == filter_]
    assert missing, [(c.filter, c.value, c.applied, c.how) for c in p.constraints]
    if not p.steps:  # nothing was queried: the plan says why in its own words (no repository matches …)
        assert any("no repository matches" in x for x in p.not_understood)
        return
    report = honour_constraints(Report(answer="**4 things** found.\n\n- one", entities=[]), p)
    first = report.answer.splitlines()[0]
    assert f"could not filter by {missing[0].named}" in first, first
    assert any(missing[0].named in gap for gap in report.gaps), report.gaps
    assert report.answer.split("\n\n", 1)[1].startswith("**4 things** found")  # the answer follows
