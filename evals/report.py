"""Reports of an eval run: the `--json` document, `report.md`, `results.json`, `chart.png`, and the rich
summary table printed at the end of every run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bbscout.evals.runner import CaseResult, RunConfig, summarize

__all__ = ["comparison", "document", "print_summary", "write_report"]


def document(
    results: list[CaseResult], cfg: RunConfig, threshold: float, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`{"summary": {...}, "cases": [...]}` — what `--json` prints and `results.json` holds."""
    summary = summarize(results, cfg)
    summary["threshold"] = threshold
    summary["gate"] = gate(summary, threshold)
    if extra:
        summary.update(extra)
    ordered = sorted(results, key=lambda r: (r.passed, r.family, r.case_id, r.trial))
    return {"summary": summary, "cases": [r.as_dict() for r in ordered]}


def gate(summary: dict[str, Any], threshold: float) -> dict[str, Any]:
    """Why CI would refuse this run (empty `reasons` = accept)."""
    reasons = []
    if summary["pass_rate"] < threshold:
        reasons.append(f"pass rate {summary['pass_rate']:.1%} < threshold {threshold:.1%}")
    for key in ("hallucinated_refs", "leaked_secrets", "crashes", "constraint_dropped_silently"):
        if summary[key]:
            reasons.append(f"{summary[key]} {key.replace('_', ' ')}")
    return {"ok": not reasons, "reasons": reasons}


def _fmt_ratio(v: Any) -> str:
    return "—" if v is None else f"{v:.2f}×"


def _fmt_dropped(n: int) -> str:
    return "0" if not n else f"[red]{n}[/red]"


def print_summary(doc: dict[str, Any], console: Console | None = None) -> None:
    """The per-family table and the headline numbers (stderr by default, so --json stays clean)."""
    console = console or Console(stderr=True)
    s = doc["summary"]
    table = Table(
        title=f"bbscout evals — planner {s['planner']}, agent {s['agent']}"
        + (f", faults {s['faults']['profile']}" if s.get("faults") else "")
    )
    table.add_column("family")
    table.add_column("cases", justify="right")
    table.add_column("pass rate", justify="right")
    table.add_column("requests vs oracle", justify="right")
    table.add_column("constraint dropped silently", justify="right")
    for fam, f in s["per_family"].items():
        style = "green" if f["pass_rate"] == 1 else ("yellow" if f["pass_rate"] >= 0.5 else "red")
        table.add_row(
            fam,
            str(f["cases"]),
            f"[{style}]{f['pass_rate']:.0%}[/]",
            _fmt_ratio(f["requests_vs_oracle"]),
            _fmt_dropped(f.get("constraint_dropped_silently", 0)),
        )
    table.add_section()
    table.add_row(
        "[b]all[/b]",
        str(s["cases"]),
        f"[b]{s['pass_rate']:.1%}[/b]",
        _fmt_ratio(s["requests_vs_oracle"]),
        _fmt_dropped(s.get("constraint_dropped_silently", 0)),
    )
    console.print(table)
    console.print(
        f"hallucinated refs {s['hallucinated_refs']} · leaked secrets {s['leaked_secrets']} · "
        f"crashes {s['crashes']} · constraint dropped silently {s.get('constraint_dropped_silently', 0)}"
        f" · case errors {s['case_errors']} · requests {s['requests']} · bytes {s['bytes']:,}"
        f" · {s['seconds']:.1f}s case time (p50 {s['seconds_p50']:.2f}s, p95 {s['seconds_p95']:.2f}s)"
        f" · llm tokens {s['llm_tokens']}"
    )
    if s.get("pass_hat_k"):
        console.print("pass^k: " + ", ".join(f"k={k}: {v:.3f}" for k, v in s["pass_hat_k"].items()))
    if s.get("faults"):
        f = s["faults"]
        console.print(
            f"faults {f['profile']}: {f['injected']} injected in {f['cases_hit']} cases; correct share "
            f"{f['correct_share']:.1%}; when hit {f['correct_share_when_hit']}; wrong-and-hit with gaps "
            f"{f['gaps_reported_when_wrong']}"
        )
    if s.get("baseline"):
        b = s["baseline"]
        console.print(
            f"ReAct baseline: pass rate {b['pass_rate']:.1%} (bbscout {s['pass_rate']:.1%}); "
            f"requests ×{b['requests_ratio']}, tokens ×{b['tokens_ratio']} (baseline / bbscout)"
        )
    g = s["gate"]
    console.print(
        ("[green]GATE OK[/green]" if g["ok"] else "[red]GATE FAILED: " + "; ".join(g["reasons"]) + "[/red]")
        + f" (threshold {s['threshold']:.0%})"
    )


def _markdown(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    lines = [
        "# bbscout eval report",
        "",
        f"planner **{s['planner']}**, agent **{s['agent']}**, faults "
        f"**{(s.get('faults') or {}).get('profile', 'none')}**; "
        f"threshold {s['threshold']:.0%} → **{'PASS' if s['gate']['ok'] else 'FAIL'}**"
        + ("" if s["gate"]["ok"] else f" ({'; '.join(s['gate']['reasons'])})"),
        "",
        "| metric | value |",
        "|---|---|",
        f"| cases (trials) | {s['cases']} ({s['trials']}) |",
        f"| pass rate | {s['pass_rate']:.1%} |",
        f"| hallucinated refs | {s['hallucinated_refs']} |",
        f"| constraint dropped silently | {s.get('constraint_dropped_silently', 0)} |",
        f"| leaked secrets | {s['leaked_secrets']} |",
        f"| crashes | {s['crashes']} |",
        f"| case errors | {s['case_errors']} |",
        f"| requests vs oracle | {_fmt_ratio(s['requests_vs_oracle'])} |",
        f"| HTTP requests / bytes | {s['requests']} / {s['bytes']:,} |",
        (
            f"| case seconds total / p50 / p95 | {s['seconds']:.1f} / {s['seconds_p50']:.2f} / "
            f"{s['seconds_p95']:.2f} |"
        ),
        f"| LLM tokens | {s['llm_tokens']} |",
    ]
    if s.get("pass_hat_k"):
        lines.append("| pass^k | " + ", ".join(f"k={k}: {v:.3f}" for k, v in s["pass_hat_k"].items()) + " |")
    if s.get("faults"):
        lines.append(f"| faults | {json.dumps(s['faults'])} |")
    if s.get("baseline"):
        lines.append(f"| ReAct baseline | {json.dumps(s['baseline'])} |")
    lines += [
        "",
        "## Per family",
        "",
        "| family | cases | pass rate | requests vs oracle | constraint dropped silently |",
        "|---|---|---|---|---|",
    ]
    for fam, f in s["per_family"].items():
        lines.append(
            f"| {fam} | {f['cases']} | {f['pass_rate']:.0%} | {_fmt_ratio(f['requests_vs_oracle'])} "
            f"| {f.get('constraint_dropped_silently', 0)} |"
        )
    fails = [c for c in doc["cases"] if not c["passed"]]
    lines += ["", f"## Failing cases ({len(fails)})", ""]
    for c in fails:
        lines.append(
            f"- **{c['id']}** ({c['family']}{', trial ' + str(c['trial']) if c['trial'] else ''}): "
            + " · ".join(x.replace("|", "\\|") for x in c["failures"])
        )
    lines += ["", "![per-family pass rate and requests vs oracle](chart.png)", ""]
    return "\n".join(lines)


def _chart(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fams = list(doc["summary"]["per_family"])
    rates = [doc["summary"]["per_family"][f]["pass_rate"] * 100 for f in fams]
    ratios = [doc["summary"]["per_family"][f]["requests_vs_oracle"] or 0 for f in fams]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    a1.barh(
        fams, rates, color=["#2e7d32" if r == 100 else "#f9a825" if r >= 50 else "#c62828" for r in rates]
    )
    a1.set_xlim(0, 100)
    a1.set_xlabel("pass rate (%)")
    a1.set_title("pass rate per family")
    a1.invert_yaxis()
    a2.barh(fams, ratios, color="#1565c0")
    a2.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    a2.set_xlabel("HTTP requests / oracle minimum")
    a2.set_title("requests vs oracle (1.0 = minimal)")
    a2.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(doc: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.md", out_dir / "results.json", out_dir / "chart.png"]
    paths[0].write_text(_markdown(doc), encoding="utf-8")
    paths[1].write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
    _chart(doc, paths[2])
    return paths


def comparison(main: list[CaseResult], base: list[CaseResult]) -> dict[str, Any]:
    """Side-by-side numbers for `--baseline react` (ratios are baseline / bbscout)."""

    def tot(rs: list[CaseResult], key: str) -> float:
        return float(sum(r.metrics.get(key, 0) or 0 for r in rs))

    def rate(rs: list[CaseResult]) -> float:
        return round(sum(r.passed for r in rs) / len(rs), 4) if rs else 0.0

    return {
        "pass_rate": rate(base),
        "hallucinated_refs": int(tot(base, "hallucinated_refs")),
        "crashes": sum(1 for r in base if r.crash),
        "requests": int(tot(base, "requests")),
        "llm_tokens": int(tot(base, "llm_tokens")),
        "requests_ratio": round(tot(base, "requests") / max(1.0, tot(main, "requests")), 3),
        "tokens_ratio": round(tot(base, "llm_tokens") / max(1.0, tot(main, "llm_tokens")), 3),
        "accuracy_delta": round(rate(base) - rate(main), 4),
        "per_case": {r.case_id: r.passed for r in base},
    }
