"""The guard's grammar beyond the issue's table: paraphrases written here (not in the vocabulary's
examples), generated combinations of request form × verb × object, and the question shapes that must
never read as an order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbscout.agent.readonly import recognise

REQUESTS: list[tuple[str, str]] = [
    ("pls revert 68 in checkout", "revert"),
    ("hey bbscout, can you please roll back checkout in prod asap", "roll back"),
    ("go ahead and ship it", "deploy"),
    ("rollback checkout-service prod now", "roll back"),
    ("undo the last deploy of payments-service", "roll back"),
    ("back out PR 68", "revert"),
    ("nuke the stale branches in web-frontend", "delete branch"),
    ("cut a release branch off main in mobile-app", "create branch"),
    ("restart the pipeline for data-pipeline", "re-run"),
    ("abort build 188 in mobile-app", "stop"),
    ("give it a +1", "approve"),
    ("sign off on PR 35", "approve"),
    ("promote it to prod", "promote"),
    ("we should redeploy #306 of checkout-service", "redeploy"),
    ("time to roll back", "roll back"),
    ("I'd like you to merge PR 67", "merge"),
    ("could you possibly re-run that one?", "re-run"),
    ("would you mind re-running the build?", "re-run"),
    ("would you mind rolling checkout back?", "roll back"),
    ("is it possible to roll back checkout?", "roll back"),
    ("do me a favour and merge 67 in checkout-service", "merge"),
    ("merge 67 please", "merge"),
    ("checkout is on fire, roll it back!", "roll back"),
    ("PR 67 is approved; merge it", "merge"),
    ("just revert it", "revert"),
    ("Rollback!", "roll back"),
    ("checkout-service prod needs to be rolled back", "roll back"),
    ("PR 67 in checkout-service should be merged", "merge"),
    ("can we get PR 67 merged?", "merge"),
    ("let's get this deployed to staging", "deploy"),
    ("show me the failed builds and re-run them", "re-run"),
    ("prod is broken - roll back now", "roll back"),
    ("can you help me roll back web-frontend?", "roll back"),
    ("someone needs to revert PR 68", "revert"),
    ("we have to kill the running web-frontend build", "stop"),
    ("close PR 67 in checkout-service", "decline"),
    ("retry the last one", "re-run"),
    ("disable branch restrictions on main in checkout-service", "change settings"),
    ("revoke Emma's write access to checkout-service", "change permissions"),
    ("add Raj Patel to checkout-service with write access", "change permissions"),
    ("create a tag v2.0.0 on main in api-gateway", "create tag"),
    ("open a PR from hotfix/CHK-999 to main", "open pull request"),
    ("trigger a new build of api-gateway main", "re-run"),
    ("start the deploy to production for checkout-service", "deploy"),
    ("release checkout-service to production", "deploy"),
    ("revert to the previous version of checkout-service", "roll back"),
    ("go back to the previous release of checkout-service", "roll back"),
    ("restore the previous release of web-frontend in production", "roll back"),
    ("plz cancel the deploy", "stop"),
    ("kick the build off again", "re-run"),
    ("we gotta roll back payments", "roll back"),
    ("Could you please go ahead and revert the commit that broke main?", "revert"),
    ("shall we roll back checkout?", "roll back"),
]

QUESTIONS: list[str] = [
    "rollback history for web-frontend",
    "deploy failures since wednesday?",
    "merge commits on main yesterday",
    "merge requests awaiting review",
    "release notes for v4.15",
    "rollbacks this week",
    "reverts on main this month?",
    "the rollback of web-frontend yesterday, who did it?",
    "any rollbacks in prod today?",
    "show me the PRs I need to approve",
    "what do I need to merge today?",
    "is PR 67 ready to merge?",
    "can PR 67 be merged?",
    "should we roll back?",
    "tell me when it's safe to deploy",
    "let me know if I should roll back",
    "who can approve and merge PR 67?",
    "need to know who merged PR 63",
    "PRs to merge before the freeze",
    "stop reasons for infra-terraform pipelines",
    "merge conflicts in PR 67?",
    "did anyone re-run it?",
    "how do I roll back prod?",
    "what would happen if we roll back checkout?",
    "if we roll back checkout, what do we lose?",
    "what's the merge commit of PR 70 in checkout-service? I may need to revert it",
    "which PRs need to be merged?",
    "list PRs that need to be merged",
    "don't merge it yet, who approved it?",
    "we rolled back prod yesterday, what was the previous release?",
    "Raj asked me to roll back prod; who deployed last?",
    "which deploys were rolled back this week?",
    "run history of mobile-app",
    "has PR 35 been approved?",
    "was build 186 restarted?",
    "is the required approvals check on for checkout-service main?",
    "who has write access to checkout-service?",
    "do we need to roll back?",
    "check whether the revert was deployed",
    "could you check if PR 67 was merged?",
    "please show the last production deploy of payments-service",
]


@pytest.mark.parametrize(("question", "action"), REQUESTS)
def test_paraphrases_are_refused_with_their_action(question: str, action: str) -> None:
    act = recognise(question)
    assert act is not None, question
    assert act.action == action


@pytest.mark.parametrize("question", QUESTIONS)
def test_questions_about_actions_are_never_orders(question: str) -> None:
    act = recognise(question)
    assert act is None, f"read as a request to {act.action if act else ''}"


# Generated sentences: any form, any verb, any object (the parts are this test's own, not the vocabulary's).
FORMS = [
    "", "please ", "can you ", "could you please ", "would you ", "let's ", "we need to ", "go ahead and ",
    "I want you to ", "hey, can you just ", "i need you to ", "is it possible to ", "time to ",
]  # fmt: skip
VERBS = [
    ("merge", "merge", "PR 67 in checkout-service"),
    ("approve", "approve", "PR 35"),
    ("decline", "decline", "the renovate PR"),
    ("re-run", "re-run", "the failed build on main"),
    ("retry", "re-run", "pipeline #186"),
    ("stop", "stop", "the running pipeline"),
    ("cancel", "stop", "build 188"),
    ("deploy", "deploy", "checkout-service to production"),
    ("redeploy", "redeploy", "release #281"),
    ("promote", "promote", "payments-service to prod"),
    ("roll back", "roll back", "payments-service"),
    ("revert", "revert", "PR 68"),
    ("delete", "delete branch", "the stale branches"),
    ("create", "create branch", "a branch hotfix/x"),
    ("delete", "delete tag", "the v4.13.0 tag"),
    ("turn off", "change settings", "the required approvals check"),
    ("grant", "change permissions", "Raj write access"),
]
TAILS = ["", " please", " now", "?", " asap", " for me"]
PRONOUNS = ["it", "that one", "them", "the second one", "those"]


@given(form=st.sampled_from(FORMS), verb=st.sampled_from(VERBS), tail=st.sampled_from(TAILS))
@settings(max_examples=300, deadline=None)
def test_every_form_with_every_verb_is_a_request(form: str, verb: tuple[str, str, str], tail: str) -> None:
    words, action, obj = verb
    question = f"{form}{words} {obj}{tail}"
    act = recognise(question)
    assert act is not None, question
    assert act.action == action, question


@given(
    form=st.sampled_from(FORMS),
    verb=st.sampled_from(["merge", "approve", "re-run", "kill", "roll back", "revert", "retry", "decline"]),
    pronoun=st.sampled_from(PRONOUNS),
)
@settings(max_examples=120, deadline=None)
def test_follow_up_orders_bind_to_a_referent(form: str, verb: str, pronoun: str) -> None:
    act = recognise(f"{form}{verb} {pronoun}")
    assert act is not None and act.referent is not None


OPENERS = ["who", "when was", "did anyone", "was", "has anyone", "which builds were", "how many times did we"]
PARTICIPLES = ["rolled back", "merged", "re-run", "approved", "deployed", "reverted", "stopped", "promoted"]
SUBJECTS = ["prod", "PR 67", "checkout-service", "the release", "it", "the build on main"]


@given(opener=st.sampled_from(OPENERS), verb=st.sampled_from(PARTICIPLES), subject=st.sampled_from(SUBJECTS))
@settings(max_examples=200, deadline=None)
def test_questions_about_what_was_done_are_never_orders(opener: str, verb: str, subject: str) -> None:
    assert recognise(f"{opener} {verb} {subject}?") is None


def test_what_the_object_says_is_kept_for_the_help() -> None:
    promote = recognise("we need to promote the staging build of checkout-service to prod")
    assert promote is not None
    assert (promote.environment, promote.source_environment) == ("production", "staging")
    rerun = recognise(
        "we need to re-run the notification-service pipeline that failed on the renovate branch"
    )
    assert rerun is not None and "renovate" in rerun.names and rerun.thing == "pipeline"
    culprit = recognise("please revert the PR that broke the api-gateway main build")
    assert culprit is not None and culprit.culprit and culprit.thing == "pull_request"
    both = recognise("approve and merge PR 67 in checkout-service")
    assert both is not None and both.action == "approve" and both.also == ["merge"]
    second = recognise("retry the second one")
    assert second is not None and (second.referent, second.ordinal) == ("ordinal", 1)


def test_quoted_text_is_content_not_grammar() -> None:
    """A comment's body ("deploy it", "who merged this?") never changes what is asked."""
    act = recognise("comment 'who merged this? deploy it' on PR 35 in data-pipeline")
    assert act is not None and act.action == "comment"
    assert recognise('what does "roll back prod" mean in the runbook?') is None
