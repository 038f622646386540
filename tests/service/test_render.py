"""The chat page's HTML: repository text arrives escaped, links only to Bitbucket, every known ref linked."""

from __future__ import annotations

from bbscout.agent.service.render import answer_html, link_refs

URL = "https://bitbucket.org/acme/api/pipelines/results/3"


def doc(answer: str, **extra: object) -> dict[str, object]:
    return {
        "answer": answer,
        "entities": [{"ref": "pipeline:api#3", "url": URL}],
        "findings": [],
        "gaps": [],
    } | extra


def test_markup_in_repository_text_is_escaped() -> None:
    html = answer_html(doc('PR “<img src=x onerror=alert(1)>” and <script>steal()</script> & "quotes"'))
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&amp;" in html


def test_links_survive_only_to_bitbucket() -> None:
    html = answer_html(
        doc(
            "[ok](https://bitbucket.org/acme/api) [evil](javascript:alert(1)) [phish](https://bitbucket.org.evil.io/x)"
        )
    )
    assert '<a href="https://bitbucket.org/acme/api" target="_blank" rel="noopener noreferrer">ok</a>' in html
    assert "javascript:" not in html.split("[evil]")[0] and 'href="javascript' not in html
    assert 'href="https://bitbucket.org.evil.io' not in html


def test_bare_refs_the_evidence_holds_become_links() -> None:
    html = answer_html(doc("The build pipeline:api#3 failed; pipeline:api#4 is unknown."))
    assert f'<a href="{URL}" target="_blank" rel="noopener noreferrer">pipeline:api#3</a>' in html
    assert "pipeline:api#4" in html and html.count("<a ") == 1


def test_linked_refs_are_not_linked_twice() -> None:
    text = f"[pipeline:api#3]({URL}) failed"
    assert link_refs(text, {"pipeline:api#3": URL}) == text


def test_gaps_and_findings_are_escaped_too() -> None:
    html = answer_html(
        doc(
            "ok", gaps=["<b>gap</b>"], findings=[{"title": "Why <i>", "detail": "<svg onload=x>", "refs": []}]
        )
    )
    assert "<b>gap" not in html and "<svg" not in html and "<i>" not in html
    assert "What I could not see" in html and "Findings" in html


def test_control_and_bidi_characters_are_dropped() -> None:
    html = answer_html(doc("fix \u202eexe.txt\u202c and \x1b[31mred\x1b[0m"))
    assert "\u202e" not in html and "\x1b" not in html and "red" in html


def test_text_decoded_from_entities_is_escaped_again() -> None:
    html = answer_html(doc("title &lt;script&gt; and &#27;[31m and `<b>` in code"))
    assert "<script" not in html and "\x1b" not in html and "<code>&lt;b&gt;</code>" in html
