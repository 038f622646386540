"""Entity hints: repositories, branch aliases, authors, states, triggers, environments, numbers, paths,
symbols."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bbscout.agent.intake import Understanding, understand
from tests.agent.fixtures import acme_repos

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
REPOS = acme_repos()


def u(q: str, tz: str = "UTC") -> Understanding:
    return understand(q, NOW, tz, REPOS)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "what pipelines failed in the last 24 hours?",
            {"topics": ["pipelines"], "results": ["FAILED", "ERROR"]},
        ),
        ("pipleines that faild", {"topics": ["pipelines"], "results": ["FAILED", "ERROR"]}),
        ("which builds are red", {"results": ["FAILED", "ERROR"]}),
        ("errored pipelines", {"results": ["ERROR"]}),
        ("any builds that errored?", {"results": ["ERROR"]}),
        ("stopped or cancelled pipelines", {"results": ["STOPPED"]}),
        ("aborted runs", {"results": ["STOPPED"]}),
        ("green builds on main", {"results": ["SUCCESSFUL"], "branch": "main", "default_branch": True}),
        ("what's running right now", {"in_progress": True}),
        ("pipelines in progress", {"in_progress": True}),
        ("open PRs", {"pr_states": ["OPEN"], "topics": ["pull_requests"]}),
        ("merged pull requests", {"pr_states": ["MERGED"]}),
        ("declined or rejected PRs", {"pr_states": ["DECLINED"]}),
        ("closed PRs", {"pr_states": ["MERGED", "DECLINED"]}),
        ("draft PRs", {"draft": True}),
        ("PRs awaiting review", {"awaiting_review": True}),
        ("which PRs need review", {"awaiting_review": True}),
        ("unreviewed pull requests", {"awaiting_review": True}),
        ("manual pipelines", {"trigger": "MANUAL"}),
        ("nightly builds", {"trigger": "SCHEDULED", "nightly": True}),
        ("scheduled pipelines", {"trigger": "SCHEDULED"}),
        ("pipelines triggered on push", {"trigger": "PUSH"}),
        ("deploys to prod", {"environment": "production"}),
        ("what's in production", {"environment": "production"}),
        ("deployments to staging", {"environment": "staging"}),
        ("deploys to stage", {"environment": "staging"}),
        ("what's on the test env", {"environment": "test"}),
        ("qa deployments", {"environment": "test"}),
        ("failed tests in checkout", {"environment": None, "repos": ["checkout-service"]}),
        ("show me PR #12", {"pr_numbers": [12]}),
        ("pull request 12 in payments", {"pr_numbers": [12], "repos": ["payments-service"]}),
        ("build 412 in checkout", {"build_numbers": [412], "topics": ["pipelines"]}),
        ("pipeline #412", {"build_numbers": [412]}),
        ("logs for run 77", {"build_numbers": [77]}),
        ("what is #31", {"hash_numbers": [31]}),
        ("get commit 3f2a9c1 in auth", {"commits": ["3f2a9c1"], "repos": ["auth-service"]}),
        ("commits touching src/app.py", {"paths": ["src/app.py"]}),
        ("changes in config/production.yaml", {"paths": ["config/production.yaml"]}),
        ("where is calculate_tax defined", {"symbols": ["calculate_tax"], "topics": ["code"]}),
        ("find usages of PaymentGatewayClient", {"symbols": ["PaymentGatewayClient"]}),
        ('search the code for "retry budget exceeded"', {"symbols": ["retry budget exceeded"]}),
        ("show me the log of the second one", {"ordinal": 1}),
        ("the 2nd", {"ordinal": 1}),
        ("and the last one?", {"ordinal": -1}),
        ("why did that one fail", {"deictic": True}),
        ("top 5 failed builds", {"count": 5}),
        ("last 10 commits on main", {"count": 10}),
        ("commits on develop", {"branch": "develop"}),
        ("PRs into release/1.4", {"branch": "release/1.4"}),
        ("commits on feature/new-cart", {"branch": "feature/new-cart"}),
        ("what landed on trunk", {"branch": "main", "default_branch": True}),
        ("commits to the default branch of the mobile app", {"branch": "master", "default_branch": True}),
        ("merges to master in mobile", {"branch": "master", "repos": ["mobile-app"]}),
        ("PRs by Alice", {"authors": ["Alice"]}),
        ("commits from alice", {"authors": ["alice"]}),
        ("alice's PRs", {"authors": ["alice"]}),
        ("Priya's commits", {"authors": ["Priya"]}),
        ("PRs opened by Priya Raman last week", {"authors": ["Priya Raman"]}),
        ("commits from yesterday", {"authors": []}),
        ("checkout's PRs", {"authors": [], "repos": ["checkout-service"]}),
        ("failed builds across all repos", {"all_repos": True}),
        ("approve PR 4", {"write_verbs": ["approve"]}),
        ("please delete the branch feature/x", {"write_verbs": ["delete"]}),
        ("can you rerun build 412", {"write_verbs": ["rerun"]}),
        ("what merged to main", {"write_verbs": []}),
        (
            "how many story points did we ship",
            {"out_of_scope": ["story points (a tracker concept, not Bitbucket data)"]},
        ),
        ("checkout errors since 14:05 UTC", {"incident": "weak", "repos": ["checkout-service"]}),
        ("latency spike on the api", {"incident": "strong", "repos": ["api-gateway"]}),
    ],
)
def test_entities(question: str, expected: dict[str, Any]) -> None:
    got = u(question)
    for key, value in expected.items():
        assert getattr(got, key) == value, (question, key, getattr(got, key))


@pytest.mark.parametrize(
    ("question", "slugs"),
    [
        ("show me recent pull requests for the backend service", ["api-gateway"]),
        ("failed builds in the web app", ["web-frontend"]),
        ("what changed in infra", ["infra-terraform"]),
        ("auth deploys", ["auth-service"]),
        ("and in payments?", ["payments-service"]),
        ("PRs in checkout and payments", ["checkout-service", "payments-service"]),
        ("merged PRs in checkout-service", ["checkout-service"]),
        ("what pipelines failed in the last 24 hours?", []),
        ("data pipeline failures", ["data-pipeline"]),
    ],
)
def test_repositories(question: str, slugs: list[str]) -> None:
    assert u(question).repos == slugs


def test_ambiguous_and_unknown_repositories_are_reported() -> None:
    amb = u("failed pipelines in the service").repo_mentions
    assert amb[0].status == "ambiguous" and "checkout-service" in amb[0].candidates
    unk = u("failed pipelines in the foo service").repo_mentions
    assert unk[0].status == "unknown" and unk[0].phrase == "foo service" and unk[0].candidates
    assert u("pipelines in zebra").repo_mentions[0].status == "unknown"


def test_window_and_plain_json() -> None:
    got = u("what commits were merged to main yesterday?", tz="America/Los_Angeles")
    assert got.window is not None and got.window.label == "yesterday"
    assert got.window.start == datetime(2026, 11, 28, 8, tzinfo=UTC)
    dumped = got.model_dump(mode="json")
    assert Understanding.model_validate(dumped) == got


@pytest.mark.parametrize(
    ("question", "results"),
    [
        ("which pipelines errored (not failed tests, an ERROR result) in the last 7 days?", ["ERROR"]),
        ("builds that errored rather than failed", ["ERROR"]),
        ("errors only, excluding failed builds", ["ERROR"]),
        ("failed builds, not the stopped ones", ["FAILED", "ERROR"]),
        ("builds that aren't green", ["FAILED", "ERROR"]),
        ("failed or errored pipelines", ["FAILED", "ERROR"]),
    ],
)
def test_negated_result_words_do_not_count(question: str, results: list[str]) -> None:
    assert u(question).results == results


@pytest.mark.parametrize(
    ("question", "breakage", "incident"),
    [
        ("who broke the api-gateway main build this morning?", "build", None),
        ("what broke main in checkout?", "build", "strong"),
        ("why is the data-pipeline PR for S3 export retries failing?", "build", None),
        ("why are notification-service builds failing since last night?", "build", None),
        ("tests keep failing randomly", "flaky", None),
        ("flaky specs in web-frontend", "flaky", None),
        ("what broke since 1pm PST yesterday?", None, None),  # a listing of failures, not an investigation
        ("what broke the api at 2pm?", None, "strong"),  # a service broke: runtime
        ("checkout is throwing 500s", None, "strong"),
        ("which builds failed today?", None, None),
        ("why did build 412 fail?", None, None),
        ("show me a random PR", None, None),
        ("intermittent 500s on checkout", None, "strong"),
    ],
)
def test_breakage_routing_hints(question: str, breakage: str | None, incident: str | None) -> None:
    got = u(question)
    assert (got.breakage, got.incident) == (breakage, incident)


@pytest.mark.parametrize(
    ("symptom", "kind"),
    [
        ("api-gateway main build has been red since 07:16 UTC", "build"),
        ("notification-service builds fail at npm ci since the dependency bot PR", "build"),
        ("the data-pipeline PR is failing", "build"),
        ("checkout-service integration tests keep failing randomly on feature branches", "flaky"),
        ("intermittent test failures in payments", "flaky"),
        ("checkout requests failing with payment timeouts (HTTP 504)", "runtime"),
        ("latency spike in auth", "runtime"),
        ("the web app's new checkout step was rolled back in production", "runtime"),
        ("data-pipeline is slow", "runtime"),
    ],
)
def test_incident_kind(symptom: str, kind: str) -> None:
    from bbscout.agent.intake import incident_kind

    assert incident_kind(symptom) == kind


@pytest.mark.parametrize(
    "question",
    [
        "which of them still need a review?",
        "PRs that still need a review",
        "which ones haven't been approved yet",
        "PRs nobody has reviewed",
        "anything waiting to be reviewed?",
        "open PRs without approvals",
    ],
)
def test_awaiting_review_phrasings(question: str) -> None:
    assert u(question).awaiting_review


@pytest.mark.parametrize(
    "question",
    [
        "which branches haven't been touched in 14 days?",
        "branches nobody has pushed to in 2 weeks",
        "branches with no new commits this month",
        "branches that have not been updated since October",
    ],
)
def test_stale_phrasings(question: str) -> None:
    assert "stale" in u(question).asks


def test_two_word_author_before_a_verb() -> None:
    assert u("which commits did Daniel Okafor push to api-gateway?").authors == ["Daniel Okafor"]
    assert u("what did Priya merge this week?").authors == ["Priya"]


def test_slug_shaped_unknown_names_are_reported() -> None:
    for question, phrase in (
        ("what failed in billing-service yesterday?", "billing-service"),
        ("deploys of ledger-api this week", "ledger-api"),
    ):
        (mention,) = u(question).repo_mentions
        assert (mention.phrase, mention.status) == (phrase, "unknown") and mention.candidates


# --- generalisation: paraphrases of how engineers type -----------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("did the nightly break?", {"results": ["FAILED", "ERROR"]}),
        ("anything blow up in CI today", {"results": ["FAILED", "ERROR"]}),
        ("errored runs, not just a test failure", {"results": ["ERROR"]}),
        ("ERROR builds (not real failures)", {"results": ["ERROR"]}),
        ("prs waiting on a reviewer", {"awaiting_review": True}),
        ("anything still needing reviewers", {"awaiting_review": True}),
        ("open PRs from renovate", {"authors": ["renovate"]}),
        ("PRs from dependabot", {"authors": ["dependabot"]}),
        (
            "what's running in staging",
            {"in_progress": False, "topics": ["deployments"], "environment": "staging"},
        ),
        ("what is live on prod", {"topics": ["deployments"], "environment": "production"}),
        ("did we roll that back?", {"topics": ["deployments"]}),
        ("do we have a terraform repo?", {"topics": ["repositories"]}),
        ("is there any repo for billing", {"topics": ["repositories"]}),
        ("checkout throwing 504s", {"incident": "strong"}),
        ("http 503 on the gateway", {"incident": "strong"}),
        ("payments slow, started around 5am, what changed", {"incident": "strong"}),
        ("the data-pipeline CI is borked, any idea why?", {"breakage": "build"}),
        ("who turned main red", {"breakage": "build"}),
        ("test_x keeps flaking on main", {"breakage": "flaky"}),
        ("which pipelines are failing", {"breakage": None}),
    ],
)
def test_generalised_vocabulary(question: str, expected: dict[str, Any]) -> None:
    got = u(question)
    for key, value in expected.items():
        actual = getattr(got, key)
        if key == "topics":
            assert set(value) <= set(actual), (question, actual)
        else:
            assert actual == value, (question, key, actual)


@pytest.mark.parametrize(
    ("question", "repos"),
    [
        ("an infra problem broke the build", []),
        ("pipelines with a data issue", []),
        ("show errored pipelines (infra problem) this week", []),
        ("failed builds in infra", ["infra-terraform"]),
        ("infra builds that failed", ["infra-terraform"]),
        ("checkout is down", ["checkout-service"]),
        ("commits on payments-servce main", ["payments-service"]),
        ("builds for the notifcation-service", ["notification-service"]),
    ],
)
def test_repository_mentions_need_evidence(question: str, repos: list[str]) -> None:
    assert u(question).repos == repos


@pytest.mark.parametrize("question", ["commits on billing-servce main", "builds in ledger-svc"])
def test_unknown_misspelt_slug_is_reported(question: str) -> None:
    got = u(question)
    assert got.repos == [] and any(m.status == "unknown" for m in got.repo_mentions), got.repo_mentions


@pytest.mark.parametrize(
    ("question", "verb"),
    [
        ("can u deploy auth-service to prod pls", "deploy"),
        ("pls rerun build 12 in checkout", "rerun"),
        ("plz merge PR 4", "merge"),
        ("kindly approve PR 9", "approve"),
        ("could ya revert that commit", "revert"),
        ("i'd like you to delete the branch", "delete"),
    ],
)
def test_write_requests_in_request_form(question: str, verb: str) -> None:
    assert u(question).write_verbs == [verb]


@pytest.mark.parametrize(
    "question", ["who deployed auth-service?", "what was merged today", "which builds were rerun?"]
)
def test_questions_about_writes_are_not_write_requests(question: str) -> None:
    assert u(question).write_verbs == []


# --- held-out-2 generalisation: paraphrases, never the eval sentences -------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "deployment failures this week",
        "deploy history for auth-service?",
        "merge history of web-frontend",
        "rollout status in prod?",
        "deploy?",
        "push count on main yesterday",
        "release failures since monday",
    ],
)
def test_write_verb_used_as_a_noun_is_no_request(question: str) -> None:
    assert u(question).write_verbs == []


@pytest.mark.parametrize(
    ("question", "verb"),
    [
        ("fire off a pipeline for web-frontend", "fire off"),
        ("kickoff the nightly for mobile-app", "kickoff"),
        ("start a new build on develop in checkout-service", "start"),
        ("re-run the failed pipeline on main", "re-run"),
        ("cancel the running build in mobile-app", "cancel"),
        ("please deploy checkout-service to prod", "deploy"),
        ("can you deploy main to staging?", "deploy"),
        ("rebuild develop for payments", "rebuild"),
    ],
)
def test_build_and_deploy_imperatives_are_write_requests(question: str, verb: str) -> None:
    assert u(question).write_verbs == [verb]


@pytest.mark.parametrize(
    ("question", "metric"),
    [
        ("how's our p95 looking for payments today", "p95"),
        ("what is the error rate of auth-service?", "error rate"),
        ("traffic on web-frontend this morning?", "traffic"),
        ("memory usage of the auth service yesterday?", "memory usage"),
    ],
)
def test_metric_value_questions_are_flagged(question: str, metric: str) -> None:
    got = u(question)
    assert got.metric_ask == metric and got.out_of_scope == []


@pytest.mark.parametrize(
    "question",
    [
        "payments p95 latency spiked since 10:30, what changed?",
        "error rate on checkout went up after lunch - what shipped?",
        "auth-service latency is elevated, what caused it?",
    ],
)
def test_metric_symptom_reports_stay_incidents(question: str) -> None:
    got = u(question)
    assert got.metric_ask is None and got.incident == "strong"


@pytest.mark.parametrize(
    ("question", "repos"),
    [
        ("users see 503 service unavailable on payments since 9am, what changed?", ["payments-service"]),
        ("bad gateway errors from checkout since 07:00 - what went out?", ["checkout-service"]),
        ("getting gateway timeouts on web-frontend since 6am", ["web-frontend"]),
        ("internal server errors in auth since noon", ["auth-service"]),
    ],
)
def test_http_status_phrases_name_no_repository(question: str, repos: list[str]) -> None:
    got = u(question)
    assert got.repos == repos and got.incident == "strong", (got.repos, got.incident)


@pytest.mark.parametrize(
    ("question", "author"),
    [
        ("did any of Priya's get merged since monday?", "Priya"),
        ("anything by Omar's landed this week?", "Omar"),
        ("show me whatever of Chen's got declined", "Chen"),
    ],
)
def test_possessive_without_object_is_an_author(question: str, author: str) -> None:
    assert u(question).authors == [author]


@pytest.mark.parametrize(
    "question",
    [
        "what's in flight right now?",
        "is anything still queued or building in mobile-app?",
        "builds currently building?",
    ],
)
def test_building_and_in_flight_mean_running(question: str) -> None:
    assert u(question).in_progress


# --- the filters issue 10 added: people in a role, text, which one, landed, live, running vs pending,
# filters no tool applies, fused repository names, fortnight
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("open PRs where Emma is a reviewer", {"reviewers": ["Emma"], "authors": []}),
        ("PRs approved by Marcus in payments", {"approvers": ["Marcus"], "authors": []}),
        ("PRs Noah commented on", {"participants": ["Noah"]}),
        (
            "declined PRs where hannah was asked to review",
            {"reviewers": ["hannah"], "awaiting_review": False},
        ),
        ("what did the renovate bot open this week", {"authors": ["renovate bot"]}),
        ("dependabot PRs in web-frontend", {"authors": ["dependabot"], "repos": ["web-frontend"]}),
        ("open PRs from renovate/lodash-4.x", {"authors": [], "branch": "renovate/lodash-4.x"}),
        ("commits mentioning CHK-731", {"texts": ["CHK-731"]}),
        ("merged PRs that talk about Stripe", {"texts": ["Stripe"]}),
        ("PRs for DATA-377", {"texts": ["DATA-377"]}),
        ("search the code for 'retry'", {"texts": [], "symbols": ["retry"]}),
        ("the latest successful build on main", {"pick": "newest"}),
        ("when did auth-service last deploy to prod", {"pick": "newest"}),
        ("the oldest open PR", {"pick": "oldest"}),
        ("the latest builds on main", {"pick": None}),
        ("the last 5 builds", {"pick": None, "count": 5}),
        ("the latest production deployment of each service", {"pick": None}),
        ("commits that landed on main yesterday", {"landed": True}),
        ("what is live in prod for auth-service", {"current": True}),
        ("what was deployed to prod yesterday", {"current": False}),
        ("how many pipelines are running right now?", {"progress": ["IN_PROGRESS"]}),
        ("anything queued up waiting to run?", {"progress": ["PENDING"]}),
        ("what's in flight", {"progress": ["IN_PROGRESS", "PENDING"]}),
        ("open PRs with more than 5 comments", {"unsupported": [{"kind": "comment count", "value": "5"}]}),
        ("open PRs labelled bug", {"unsupported": [{"kind": "label", "value": "bug"}]}),
        ("PRs in webfrontend merged since Monday", {"repos": ["web-frontend"]}),
        ("builds in apigateway today", {"repos": ["api-gateway"]}),
        ("commits to envs/production in infra-terraform", {"paths": ["envs/production"]}),
        ("renovate PRs that haven't been merged yet", {"pr_states": ["OPEN"]}),
    ],
)
def test_issue_10_filters(question: str, expected: dict[str, Any]) -> None:
    got = u(question).model_dump(mode="json")
    for key, value in expected.items():
        assert got[key] == value, (key, got[key])


def test_a_fortnight_is_fourteen_days() -> None:
    w = u("deploys in the last fortnight").window
    assert w is not None and (w.end - w.start).days == 14
    w = u("PRs merged within a fortnight").window
    assert w is not None and (w.end - w.start).days == 14


def test_an_unknown_fused_name_is_reported_not_dropped() -> None:
    (mention,) = u("PRs in billingservice merged since Monday").repo_mentions
    assert mention.status == "unknown" and "payments-service" in mention.candidates
