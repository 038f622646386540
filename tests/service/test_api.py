"""The HTTP API over real loopback HTTP: the CLI's document, SSE progress, threads, and every refusal."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.service.conftest import NOW, OPS, PRODUCTION, Env, auth

QUESTION = "What pipelines failed in the last 24 hours?"


def events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a text/event-stream body."""
    found, name = [], "message"
    for line in response.text.replace("\r\n", "\n").split("\n"):
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            found.append((name, json.loads(line[5:].strip())))
    return found


def test_ask_returns_the_cli_json_document(client: httpx.Client) -> None:
    response = client.post("/v1/ask", json={"question": QUESTION, "now": NOW, "connection": PRODUCTION})
    assert response.status_code == 200, response.text
    doc = response.json()
    assert set(doc) >= {
        "question",
        "planner",
        "now",
        "window",
        "answer",
        "entities",
        "findings",
        "gaps",
        "stats",
    }
    assert doc["question"] == QUESTION and doc["planner"] == "rules"
    assert doc["window"]["end"].startswith("2026-11-29T16:20")
    assert doc["stats"]["http_requests"] > 0
    refs = [e["ref"] for e in doc["entities"]]
    assert refs and all(r.startswith("pipeline:") for r in refs)
    assert all(e["url"].startswith("https://bitbucket.org/acme/") for e in doc["entities"])


def test_ask_streams_progress_then_the_document(client: httpx.Client) -> None:
    response = client.post(
        "/v1/ask",
        json={"question": QUESTION, "now": NOW, "connection": PRODUCTION},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    stream = events(response)
    names = [name for name, _ in stream]
    assert names[0] == "planned" and names[-1] == "document" and names[-2] == "reported"
    assert "step_started" in names and "step_finished" in names
    assert names.index("step_started") < names.index("step_finished")
    started = {(d["tool"], d["args"]) for n, d in stream if n == "step_started"}
    finished = {(d["tool"], d["args"]) for n, d in stream if n == "step_finished"}
    assert started == finished  # every call that started is reported finished
    assert stream[-1][1]["question"] == QUESTION and stream[-1][1]["entities"]


def test_investigate_returns_suspects(client: httpx.Client) -> None:
    response = client.post(
        "/v1/investigate",
        json={
            "question": "checkout requests failing with payment timeouts (HTTP 504) since 13:05 UTC",
            "at": "2026-11-29T13:05:00Z",
            "now": NOW,
            "connection": PRODUCTION,
        },
    )
    assert response.status_code == 200, response.text
    doc = response.json()
    assert any(f["title"].startswith("Suspect #1") for f in doc["findings"])
    assert doc["timeline"]


def test_investigate_reads_the_onset_from_the_symptom_or_says_what_is_missing(client: httpx.Client) -> None:
    symptom = "checkout requests failing with payment timeouts (HTTP 504)"
    said = client.post(
        "/v1/investigate",
        json={"question": f"{symptom} since 13:05 UTC", "now": NOW, "connection": PRODUCTION},
    )
    assert said.status_code == 200, said.text
    suspects = [f for f in said.json()["findings"] if f["title"].startswith("Suspect #1")]
    assert suspects and "pr:checkout-service#68" in suspects[0]["title"]
    unsaid = client.post("/v1/investigate", json={"question": symptom, "now": NOW, "connection": PRODUCTION})
    assert unsaid.status_code == 400 and unsaid.headers["content-type"] == "application/problem+json"
    assert "the time the symptom began" in unsaid.json()["detail"]


def test_missing_and_wrong_api_keys_are_401_problems(service: str) -> None:
    body = {"question": QUESTION, "now": NOW}
    missing = httpx.post(f"{service}/v1/ask", json=body)
    assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "bbscout apikey NAME" in missing.json()["detail"]
    wrong = httpx.post(f"{service}/v1/ask", json=body, headers={"Authorization": "Bearer bbs_not-a-key"})
    assert wrong.status_code == 401 and wrong.json()["type"] == "urn:bbscout:problem:unauthorized"
    assert httpx.get(f"{service}/v1/connections", headers={"Authorization": "Basic eDp5"}).status_code == 401


def test_an_exhausted_quota_is_429_with_retry_after(service: str) -> None:
    statuses = [httpx.get(f"{service}/v1/threads", headers=auth("tight")).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    refused = httpx.get(f"{service}/v1/threads", headers=auth("tight"))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert "600" not in refused.json()["detail"] and "3 requests per hour" in refused.json()["detail"]
    assert httpx.get(f"{service}/v1/threads", headers=auth("alice")).status_code == 200  # quotas are per key


def test_an_oversized_body_is_413(client: httpx.Client) -> None:
    big = {"question": "x" * 9000, "now": NOW}
    response = client.post("/v1/ask", json=big)
    assert response.status_code == 413 and response.json()["type"] == "urn:bbscout:problem:body-too-large"

    def chunks():  # no Content-Length: the limit holds for streamed bodies too
        yield b'{"question": "'
        for _ in range(100):
            yield b"y" * 100
        yield b'"}'

    streamed = client.post("/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_questions_are_validated_as_in_the_cli(client: httpx.Client) -> None:
    for question, words in (
        ("   ", "The question is empty"),
        ("x" * 2100, "the limit is 2,000"),
        ("a\x00b", "control"),
    ):
        response = client.post("/v1/ask", json={"question": question, "now": NOW})
        assert response.status_code == 422, response.text
        assert words in response.json()["detail"]
    bad_tz = client.post("/v1/ask", json={"question": QUESTION, "tz": "Mars/Olympus"})
    assert bad_tz.status_code == 422 and "IANA" in bad_tz.json()["detail"]
    unknown_repo = client.post(
        "/v1/ask",
        json={"question": QUESTION, "now": NOW, "repos": ["checkout-servce"], "connection": PRODUCTION},
    )
    assert unknown_repo.status_code == 400 and "Closest: checkout-service" in unknown_repo.json()["detail"]


def test_an_unknown_connection_is_404(client: httpx.Client) -> None:
    response = client.post("/v1/ask", json={"question": QUESTION, "connection": "Staging"})
    assert response.status_code == 404
    problem = response.json()
    assert problem["type"] == "urn:bbscout:problem:unknown-connection"
    assert PRODUCTION in problem["detail"] and "bbscout connect --save" in problem["detail"]
    assert client.post("/v1/threads", json={"connection": "Staging"}).status_code == 404


def test_several_connections_and_none_named_asks_which(client: httpx.Client) -> None:
    response = client.post("/v1/ask", json={"question": QUESTION, "now": NOW})
    assert response.status_code == 400 and "choose one" in response.json()["detail"]


def test_connections_list_names_and_tests_never_secrets(client: httpx.Client, env: Env) -> None:
    response = client.get("/v1/connections")
    assert response.status_code == 200
    listed = {c["name"]: c for c in response.json()["connections"]}
    assert {PRODUCTION, OPS} <= set(listed)
    assert listed[PRODUCTION]["workspace"] == "acme" and listed[PRODUCTION]["auth"] == "api_token"
    assert listed[PRODUCTION]["last_test"]["ok"] is True
    for label in ("demo", "demo-access"):
        assert env.world.token(label).secret not in response.text
    for shown in listed.values():
        assert set(shown) <= {"name", "workspace", "base_url", "auth", "email", "last_test", "default"}


def test_a_revoked_token_gets_the_401_explanation_and_is_not_used_again(
    client: httpx.Client, env: Env
) -> None:
    token = env.world.token("demo-access")
    token.expired = True
    try:
        refused = client.post("/v1/ask", json={"question": QUESTION, "now": NOW, "connection": OPS})
        assert refused.status_code == 502, refused.text
        problem = refused.json()
        assert (
            problem["type"] == "urn:bbscout:problem:bitbucket-refused" and problem["bitbucket_status"] == 401
        )
        assert "API token created *with scopes*" in problem["detail"]  # the CLI's 401 explanation
        assert token.secret not in refused.text
        again = client.post("/v1/ask", json={"question": QUESTION, "now": NOW, "connection": OPS})
        assert again.status_code == 409 and again.json()["type"] == "urn:bbscout:problem:connection-failed"
        assert "failed its last test" in again.json()["detail"]
        listed = {c["name"]: c for c in client.get("/v1/connections").json()["connections"]}
        assert listed[OPS]["last_test"]["ok"] is False
    finally:
        token.expired = False
    retested = client.post(f"/v1/connections/{OPS}/test")
    assert retested.status_code == 200 and retested.json()["ok"] is True, retested.text
    assert (
        client.post("/v1/ask", json={"question": QUESTION, "now": NOW, "connection": OPS}).status_code == 200
    )


def test_a_thread_follow_up_uses_the_earlier_evidence(client: httpx.Client) -> None:
    thread = client.post("/v1/threads", json={"connection": PRODUCTION, "title": "on call"})
    assert thread.status_code == 201
    tid = thread.json()["id"]
    first = client.post(f"/v1/threads/{tid}/messages", json={"question": QUESTION, "now": NOW})
    assert first.status_code == 200, first.text
    first_refs = {e["ref"] for e in first.json()["document"]["entities"]}
    follow = client.post(
        f"/v1/threads/{tid}/messages", json={"question": "which of those were on main?", "now": NOW}
    )
    assert follow.status_code == 200, follow.text
    follow_refs = {e["ref"] for e in follow.json()["document"]["entities"]}
    assert follow_refs and follow_refs <= first_refs  # a subset of the earlier answer, not a new search
    history = client.get(f"/v1/threads/{tid}").json()
    assert [m["question"] for m in history["messages"]] == [QUESTION, "which of those were on main?"]
    assert history["turns"] == 2 and history["connection"] == PRODUCTION
    assert {e["ref"] for e in history["messages"][1]["document"]["entities"]} == follow_refs
    assert '<a href="https://bitbucket.org/acme/' in history["messages"][0]["html"]
    assert tid in {t["id"] for t in client.get("/v1/threads").json()["threads"]}


def test_a_thread_follow_up_about_a_referent_binds_it_and_costs_nothing_held(client: httpx.Client) -> None:
    tid = client.post("/v1/threads", json={"connection": PRODUCTION}).json()["id"]
    first = client.post(f"/v1/threads/{tid}/messages", json={"question": QUESTION, "now": NOW}).json()
    listed = first["document"]["entities"]
    asked = client.post(
        f"/v1/threads/{tid}/messages", json={"question": "who triggered the second one?", "now": NOW}
    )
    assert asked.status_code == 200, asked.text
    doc = asked.json()["document"]
    assert [e["ref"] for e in doc["entities"]] == [listed[1]["ref"]]  # the second one of the first answer
    assert doc["answer"].startswith(f"**The second one** is [{listed[1]['ref']}]")
    assert doc["stats"]["tool_calls"] == 0 and doc["stats"]["http_requests"] == 0
    # "it" is now the one just answered about; its failure is one call (or none, when it was read before)
    why = client.post(f"/v1/threads/{tid}/messages", json={"question": "why did it fail?", "now": NOW}).json()
    assert [e["ref"] for e in why["document"]["entities"]] == [listed[1]["ref"]]
    assert why["document"]["stats"]["tool_calls"] <= 1


def test_threads_belong_to_their_key(client: httpx.Client, service: str) -> None:
    tid = client.post("/v1/threads", json={"connection": PRODUCTION}).json()["id"]
    other = httpx.get(f"{service}/v1/threads/{tid}", headers=auth("tight"))
    assert other.status_code in (404, 429)


def test_probes_and_openapi(service: str) -> None:
    assert httpx.get(f"{service}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{service}/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["checkpointer"] == {"ok": True, "backend": "sqlite"} and body["cache"]["ok"] is True
    assert body["connections"][PRODUCTION]["ok"] is True
    docs = httpx.get(f"{service}/docs")
    assert (
        docs.status_code == 200
        and "/docs-assets/swagger-ui-bundle.js" in docs.text
        and "cdn" not in docs.text
    )
    assert httpx.get(f"{service}/docs-assets/swagger-ui-bundle.js").status_code == 200
    paths = httpx.get(f"{service}/openapi.json").json()["paths"]
    assert {
        "/v1/ask",
        "/v1/investigate",
        "/v1/threads",
        "/v1/threads/{thread_id}/messages",
        "/v1/connections",
    } <= set(paths)


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/style.css"])
def test_the_chat_page_is_served_without_a_build_step(service: str, path: str) -> None:
    response = httpx.get(f"{service}{path}")
    assert response.status_code == 200 and response.text
    assert "cdn" not in response.text.lower() and "https://" not in response.text


def test_a_request_to_act_is_answered_as_refused_not_as_a_bitbucket_error(client: httpx.Client) -> None:
    body = {
        "question": "please roll back payments-service in production",
        "now": NOW,
        "connection": PRODUCTION,
    }
    response = client.post("/v1/ask", json=body)
    assert response.status_code == 200, response.text  # bbscout's read-only help, not a 502
    document = response.json()
    assert document["refused"] == "read-only"
    assert document["answer"].startswith("**bbscout is read-only")
