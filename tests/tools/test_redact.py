"""Redaction: real-format secrets are removed, innocent look-alikes survive, and redact is idempotent."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbscout.tools.redact import MARKER_RE, find_secrets, redact

# (text, the secret substring that must disappear). Synthetic but valid-format.
SECRETS: list[tuple[str, str]] = [
    ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("using key ASIAY34FZKBOKMUTVV7A for the session", "ASIAY34FZKBOKMUTVV7A"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        '"AWS_SECRET_ACCESS_KEY": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"',
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    ),
    (
        "export GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    ),
    ("token gho_16C7e42F292c6912E7710c838347Ae178B4a used", "gho_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("ghs_1234567890abcdefghijABCDEFGHIJ123456 in logs", "ghs_1234567890abcdefghijABCDEFGHIJ123456"),
    (
        "pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
    ),
    (
        "BITBUCKET_TOKEN: ATATT3xFfGF0T9h2kqWz8YbN1mL4pQrS7tUvW0xYz123AbCdEfGhIjK=5A1B2C3D",
        "ATATT3xFfGF0T9h2kqWz8YbN1mL4pQrS7tUvW0xYz123AbCdEfGhIjK=5A1B2C3D",
    ),
    ("ATCTT3xFfGF0abcdefghijklmnopqrstuvwxyz0123456789", "ATCTT3xFfGF0abcdefghijklmnopqrstuvwxyz0123456789"),
    ("app password ATBB3k9LmN2pQ7rS4tU8vW1xY5zA6bC0dE in script", "ATBB3k9LmN2pQ7rS4tU8vW1xY5zA6bC0dE"),
    (
        "SLACK_BOT=xoxb-2112345678901-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-2112345678901-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    (
        "xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789",
        "xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789",
    ),
    (
        "hook https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    (
        "stripe.api_key = 'sk_live_51H8x2LKj3hG4fD5sA6pO7iU8yT9rE0w'",
        "sk_live_51H8x2LKj3hG4fD5sA6pO7iU8yT9rE0w",
    ),
    ("RESTRICTED=rk_live_51H8x2LKj3hG4fD5sA6pO7iU8y", "rk_live_51H8x2LKj3hG4fD5sA6pO7iU8y"),
    ("maps key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW used", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"),
    (
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq8vF0x\nq9Zy3kLmN0pQ==\n-----END RSA "
            "PRIVATE KEY-----"
        ),
        "MIIEowIBAAKCAQEA7bq8vF0x",
    ),
    (
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH "
            "PRIVATE KEY-----"
        ),
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU",
    ),
    (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n(log cut here)",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    ),
    (
        "jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    ("DATABASE_URL=postgres://payments:Sup3rS3cr3t!@db.internal:5432/payments", "Sup3rS3cr3t!"),
    ("redis://default:a9f8e7d6c5b4@cache:6379/0", "a9f8e7d6c5b4"),
    (
        "curl -H 'Authorization: Bearer 0b79bab50daca910b000d4f1a2b675d604257e42' https://api",
        "0b79bab50daca910b000d4f1a2b675d604257e42",
    ),
    ("Authorization: Basic dXNlckBleGFtcGxlLmNvbTpzM2NyM3RQYXNz", "dXNlckBleGFtcGxlLmNvbTpzM2NyM3RQYXNz"),
    ("DB_PASSWORD=hunter2hunter2", "hunter2hunter2"),
    ("  db_password: Zx9!kLm2#pQ", "Zx9!kLm2#pQ"),
    ('{"password": "correct-horse-battery-staple"}', "correct-horse-battery-staple"),
    ("CLIENT_SECRET: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
    ("API_KEY=3d7f9a2b8c1e4f6a0b5c9d8e7f6a5b4c", "3d7f9a2b8c1e4f6a0b5c9d8e7f6a5b4c"),
    ("webhook_secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    (
        "//registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    ),
    ("NPM_TOKEN=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"),
    ("mysql --user=root --password=Pr0dR00tPw! payments", "Pr0dR00tPw!"),
    (
        "SENDGRID=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",
        "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",
    ),
    ("gitlab glpat-xxxxXXXXxxxxXXXXxx12 token", "glpat-xxxxXXXXxxxxXXXXxx12"),
    (
        "private_key: 'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu'",
        "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu",
    ),
    (
        "openai: sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd",
        "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd",
    ),
]

# Innocent text that must come back unchanged.
LOOKALIKES: list[str] = [
    "commit 3f2a9c1b7e4d5f60718293a4b5c6d7e8f9012345 on main",
    "HEAD is now at 3f2a9c1 fix(checkout): round tax",
    "short hash 3f2a9c1b7e4d",
    "pipeline {4b6e7f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b} step 8a9b0c1d-2e3f-4a5b-6c7d-8e9f0a1b2c3d",
    "started 2026-11-28T14:05:33.123456+00:00 finished 2026-11-28T14:09:01Z",
    "bump requests from 2.31.0 to 2.32.3 (semver 1.0.0-rc.1+build.5)",
    "add password_reset_url to the account settings",
    "TOKEN_TTL=3600",
    "SESSION_TIMEOUT=900 and MAX_TOKENS=4096",
    "fix tokenizer for unicode input",
    "test_password_hashing_uses_bcrypt PASSED",
    "tests/test_auth.py::test_token_refresh_expired FAILED",
    "password: ${DB_PASSWORD}",
    "api_key: os.environ['API_KEY']",
    "token: null",
    "secret: ********",
    "if token is expired: raise AuthError('token expired')",
    "Authorization header missing",
    "See https://bitbucket.org/acme/api-gateway/pull-requests/42 and https://example.com/docs",
    "ssh://git@bitbucket.org/acme/api-gateway.git",
    "sha256:9b2f3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b",
    "image: python:3.11-slim@sha256:0e1f2a3b",
    "docker.io/library/node@sha256:" + "ab" * 32,
    "Merged in feature/rotate-keys (pull request #42)",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "password = get_secret('db')",
    "  secret_ref: payments/db",
    "token: expired",
    "Rotate AWS keys quarterly (see runbook)",
    "PASSWORD_MIN_LENGTH=12",
    "+ git clone https://x-token-auth:$REPOSITORY_OAUTH_ACCESS_TOKEN@bitbucket.org/$BITBUCKET_REPO_FULL_NAME.git",
]


@pytest.mark.parametrize(("text", "secret"), SECRETS, ids=[f"secret{i}" for i in range(len(SECRETS))])
def test_secret_is_redacted(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert MARKER_RE.search(out)
    assert find_secrets(text), "find_secrets must report what redact removes"


def test_corpus_sizes() -> None:
    assert len(SECRETS) >= 30 and len(LOOKALIKES) >= 20


@pytest.mark.parametrize("text", LOOKALIKES, ids=[f"lookalike{i}" for i in range(len(LOOKALIKES))])
def test_lookalike_survives(text: str) -> None:
    assert redact(text) == text
    assert find_secrets(text) == []


def test_url_password_keeps_user_and_host() -> None:
    out = redact("postgres://payments:Sup3rS3cr3t!@db.internal:5432/payments")
    assert out == "postgres://payments:[REDACTED:url_password]@db.internal:5432/payments"


def test_assignment_keeps_key_and_quotes() -> None:
    assert redact('{"password": "correct-horse-battery-staple"}') == '{"password": "[REDACTED:secret]"}'
    assert redact("DB_PASSWORD=hunter2hunter2 next") == "DB_PASSWORD=[REDACTED:secret] next"


def test_multiline_log_keeps_innocent_lines() -> None:
    log = "\n".join(
        [
            "+ pytest -q",
            "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "HEAD is now at 3f2a9c1 fix",
            "E   AssertionError: assert 3 == 4",
        ]
    )
    out = redact(log).splitlines()
    assert (
        out[0] == "+ pytest -q"
        and out[2] == "HEAD is now at 3f2a9c1 fix"
        and out[3].startswith("E   Assertion")
    )
    assert "AKIA" not in out[1]


_SAFE_ALPHABET = st.characters(min_codepoint=32, max_codepoint=126)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_SAFE_ALPHABET, max_size=200))
def test_redact_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([s for s, _ in SECRETS] + LOOKALIKES), max_size=6),
    st.sampled_from(["\n", " ", "; "]),
)
def test_redact_idempotent_on_mixtures(parts: list[str], sep: str) -> None:
    text = sep.join(parts)
    once = redact(text)
    assert redact(once) == once
    for _, secret in SECRETS:
        if secret in text and len(secret) > 12:
            assert secret not in once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_SAFE_ALPHABET, max_size=200))
def test_never_grows_text_without_secrets(text: str) -> None:
    if not find_secrets(text):
        assert redact(text) == text
    else:
        assert not re.search(r"AKIA[A-Z0-9]{16}", redact(text))
