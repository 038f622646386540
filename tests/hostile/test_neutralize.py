"""Hostile text: escape sequences and markup from Bitbucket are neutralised for the medium at the last step.

As the code stood, escape sequences in PR titles, commit messages, log lines and error bodies reached
the terminal raw (clear screen, window title, hidden OSC 8 hyperlinks), Markdown links in a title
became hidden hyperlinks, and the client's own token inside repository text was printed and stored.
"""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.markdown import Markdown

from bbscout.agent import neutralize
from tests.cli.conftest import assert_no_traceback
from tests.hostile.conftest import ask
from tests.hostile.servers import respond

pytestmark = pytest.mark.timeout(60)

# name -> hostile text; every medium must render each harmlessly.
CORPUS: dict[str, str] = {
    "clear screen": "fix \x1b[2J\x1b[H build",
    "window title (OSC 0, BEL)": "fix \x1b]0;you have been pwned\x07 build",
    "window title (OSC 2, ST)": "fix \x1b]2;pwned\x1b\\ build",
    "hidden hyperlink (OSC 8)": "see \x1b]8;;https://evil.example/login\x1b\\the docs\x1b]8;;\x1b\\ now",
    "C1 CSI": "red \x9b31m alert",
    "C1 OSC": "title \x9d0;pwned\x9c here",
    "DCS": "x \x1bP+q544e\x1b\\ y",
    "carriage return overwrite": "harmless\rEVIL COMMAND",
    "backspaces": "rm -rf /\x08\x08\x08\x08\x08\x08\x08echo hi",
    "NUL and DEL": "a\x00b\x7fc",
    "bidi override": "access \u202eelif.exe\u202c granted",
    "bidi isolate": "x \u2066hidden\u2069 y",
    "rich markup link": "click [link=https://evil.example]here[/link] now",
    "rich markup style": "[bold red blink]URGENT[/]",
    "markdown link": "see [the docs](https://evil.example/phish)",
    "markdown autolink": "see <https://evil.example/phish>",
    "markdown image": "![x](https://evil.example/pixel.png)",
    "html": "<script>alert(1)</script><a href='https://evil.example'>x</a>",
    "slack mention": "<!channel> <@U123> <https://evil.example|click me>",
    "reference link": "[docs][1]\n\n[1]: https://evil.example/phish",
}

_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}


def _no_controls(text: str) -> None:
    bad = [c for c in text if (unicodedata.category(c) == "Cc" and c not in "\n\t") or c in _BIDI]
    assert not bad, [hex(ord(c)) for c in bad]


def _render(renderable: Any) -> str:
    buf = io.StringIO()
    Console(file=buf, force_terminal=True, color_system="truecolor", width=200).print(renderable)
    return buf.getvalue()


def _only_rich_sequences(output: str) -> None:
    """What rich writes itself (SGR colours, our own OSC 8 links to bitbucket.org) — nothing else."""
    assert "\x1b]0;" not in output and "\x1b]2;" not in output and "\x1b[2J" not in output
    assert "\x9b" not in output and "\x9d" not in output and "\x1bP" not in output
    assert "\x1b]8;" not in output or "evil.example" not in output.split("\x1b]8;", 1)[1].split("\x1b", 1)[0]
    for chunk in output.split("\x1b]8;")[1:]:
        assert "evil.example" not in chunk.split("\x1b\\", 1)[0], chunk[:80]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_terminal(name: str) -> None:
    text = neutralize.terminal(CORPUS[name])
    _no_controls(text)
    output = _render(text)
    _only_rich_sequences(output)
    assert "\x1b]8;" not in output  # plain text never becomes a hyperlink


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_markdown(name: str) -> None:
    text = neutralize.markdown(CORPUS[name])
    _no_controls(text)
    output = _render(Markdown(f"PR “{text}” by Eve"))
    _only_rich_sequences(output)
    assert "\x1b]8;" not in output
    assert "evil.example" not in output or "evil.example" in CORPUS[name]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_slack(name: str) -> None:
    text = neutralize.slack(CORPUS[name])
    _no_controls(text)
    assert "<" not in text and ">" not in text  # no mentions, links or channel pings
    assert "&" not in text.replace("&lt;", "").replace("&gt;", "").replace("&amp;", "")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_html(name: str) -> None:
    text = neutralize.html(CORPUS[name])
    _no_controls(text)
    assert "<" not in text and ">" not in text and "'" not in text and '"' not in text


def test_plain_text_survives_every_medium() -> None:
    text = "Fix KeyError: 'burst_limit' in api-gateway — 3 tests (PR #35) Müller"
    assert neutralize.terminal(text).replace("\\", "") == text
    assert neutralize.strip_controls(text) == text
    assert neutralize.strip_controls("line one\n\tline two") == "line one\n\tline two"


def test_markdown_document_keeps_our_links_and_defuses_others() -> None:
    ours = "[pr:api#1](https://bitbucket.org/acme/api/pull-requests/1)"
    doc = f"{ours} “see [docs](https://evil.example/phish) and <https://evil.example/x>” ![p](https://evil.example/p.png)"
    output = _render(neutralize.terminal_markdown(doc))
    links = [chunk.split("\x1b\\", 1)[0] for chunk in output.split("\x1b]8;")[1:]]
    targets = {link.split(";", 1)[1] for link in links if ";" in link and link.split(";", 1)[1]}
    assert targets == {"https://bitbucket.org/acme/api/pull-requests/1"}, targets
    assert "evil.example/phish" in output  # shown in the open, not hidden behind text


# ---- end to end: a hostile server's PR titles through the CLI -----------------------------------------

OWN_TOKEN = "own-plain-token-7f3a9c1e5b2d"


def _pull_requests(title: str) -> dict[str, Any]:
    pr = {
        "id": 7,
        "title": title,
        "description": f"desc {title}",
        "state": "OPEN",
        "author": {"display_name": f"Eve {title}"},
        "source": {"branch": {"name": "feature/x"}, "commit": {"hash": "a" * 40}},
        "destination": {"branch": {"name": "main"}},
        "created_on": "2026-11-29T10:00:00+00:00",
        "updated_on": "2026-11-29T11:00:00+00:00",
        "comment_count": 0,
    }
    return {"values": [pr], "page": 1, "pagelen": 50, "size": 1}


def _rules(title: str) -> dict[str, Any]:
    listing = {
        "values": [{"slug": "api", "name": "API", "mainbranch": {"name": "main"}}],
        "page": 1,
        "size": 1,
    }
    return {
        r"^/2\.0/repositories/acme/?(\?|$)": respond(listing),
        r"^/2\.0/repositories/acme/api/pullrequests/?\?": respond(_pull_requests(title)),
        r".": respond({"values": [], "page": 1, "size": 0}),
    }


HOSTILE_TITLE = (
    "Fix \x1b[2J\x1b]0;pwned\x07 [link=https://evil.example]x[/link] "
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ [docs](https://evil.example/md) \x9b31m "
    + OWN_TOKEN
)


def test_cli_terminal_output_is_neutralised(serve: Any, cli: Any, clean_env: dict[str, str]) -> None:
    clean_env.pop("NO_COLOR", None)
    with serve(_rules(HOSTILE_TITLE)) as running:
        result = cli(
            running, *ask("show me open pull requests"), FORCE_COLOR="1", BITBUCKET_API_TOKEN=OWN_TOKEN
        )
    assert_no_traceback(result)
    output = result.stdout + result.stderr
    assert "Fix" in result.stdout, result.stdout
    _only_rich_sequences(output)
    assert OWN_TOKEN not in output


def test_cli_json_output_has_no_raw_controls_and_no_own_token(serve: Any, cli: Any) -> None:
    with serve(_rules(HOSTILE_TITLE)) as running:
        result = cli(running, *ask("show me open pull requests"), "--json", BITBUCKET_API_TOKEN=OWN_TOKEN)
    assert_no_traceback(result)
    _no_controls(result.stdout.replace("\n", ""))
    document = json.loads(result.stdout)
    assert "Fix" in json.dumps(document)
    assert OWN_TOKEN not in result.stdout + result.stderr


def test_own_token_never_reaches_the_chat_database(serve: Any, clean_env: dict[str, str]) -> None:
    import subprocess

    from tests.cli.conftest import BBSCOUT

    with serve(_rules(f"leak {OWN_TOKEN} here")) as running:
        result = subprocess.run(
            [BBSCOUT, "chat", "--thread", "t", "--now", "2026-11-29T16:20:00+00:00"],
            env={**clean_env, **running.env(BITBUCKET_API_TOKEN=OWN_TOKEN)},
            input="show me open pull requests\nexit\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert_no_traceback(result)
    assert "leak" in result.stdout, result.stdout + result.stderr
    stored = b"".join(p.read_bytes() for p in Path(clean_env["BBSCOUT_DATA_DIR"]).glob("chat.sqlite*"))
    assert stored, "the chat database was written"
    assert OWN_TOKEN.encode() not in stored
    assert OWN_TOKEN not in result.stdout + result.stderr
