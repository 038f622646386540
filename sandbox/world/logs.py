"""Step logs and test reports, rendered lazily from a small per-step description.

A 50-repository, 90-day world has ~100k steps; rendering every log up front would dominate build
time, so `RepoData.logs`, `test_reports` and `test_cases` are `Mapping`s that render on access from
a `StepRun` (its seed makes the text deterministic).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bbscout.sandbox.world.content import RepoSpec, StepDef
from bbscout.sandbox.world.sources import TestDef

V = TypeVar("V")


@dataclass(frozen=True)
class Failure:
    """How a step went wrong. `mode` picks the log template; the rest fills it."""

    mode: str  # tests | compile | lint | oom | timeout | deploy | resolver | plan | dbt | error | stopped
    tests: tuple[TestDef, ...] = ()  # failing tests (mode "tests")
    messages: tuple[tuple[str, tuple[str, ...]], ...] = ()  # fqn -> (message lines) overrides
    lines: tuple[str, ...] = ()  # template-specific error lines (resolver output, compile error ...)
    error_key: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class StepRun:
    """Everything needed to render one step's log and test report."""

    seed: int
    repo: RepoSpec
    step: StepDef
    commit: str
    subject: str
    ref_name: str
    status: str  # SUCCESSFUL | FAILED | ERROR | STOPPED | IN_PROGRESS
    failure: Failure | None
    duration: int
    tests: tuple[TestDef, ...] = ()  # the tests this step runs (empty if it runs none)
    extra: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())  # (command, output) run first

    def failing(self) -> tuple[TestDef, ...]:
        return self.failure.tests if self.failure and self.failure.mode == "tests" else ()

    def reports(self) -> bool:
        """Whether the step produced a test report (it ran its tests to the end)."""
        if not self.tests or self.status in ("IN_PROGRESS", "STOPPED", "ERROR"):
            return False
        return self.failure is None or self.failure.mode == "tests"


class LazyMap(Mapping[str, V]):
    """A read-only mapping that renders each value from a small index entry on access.

    `cache=True` keeps rendered values (for JSON lists that callers may hold on to); logs are
    re-rendered each time so a big world's logs never all sit in memory.
    """

    def __init__(self, index: dict[str, Any], render: Callable[[Any], V], *, cache: bool = False) -> None:
        self._index = index
        self._render = render
        self._cache: dict[str, V] | None = {} if cache else None

    def __getitem__(self, key: str) -> V:
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is None:
                hit = self._cache[key] = self._render(self._index[key])
            return hit
        return self._render(self._index[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index


# ------------------------------------------------------------------------------------------ reports


def test_summary(run: StepRun) -> dict[str, Any]:
    failing = {t.fqn for t in run.failing()}
    skipped = sum(1 for t in run.tests if t.skipped and t.fqn not in failing)
    return {
        "type": "test_report_summary",
        "number_of_test_cases": len(run.tests),
        "number_of_successful_test_cases": len(run.tests) - len(failing) - skipped,
        "number_of_failed_test_cases": len(failing),
        "number_of_error_test_cases": 0,
        "number_of_skipped_test_cases": skipped,
    }


def _uuid(rng: random.Random) -> str:
    import uuid

    return "{" + str(uuid.UUID(int=rng.getrandbits(128), version=4)) + "}"


def test_cases(run: StepRun) -> list[dict[str, Any]]:
    rng = random.Random(run.seed ^ 0x7E57)
    failing = {t.fqn: t for t in run.failing()}
    out = []
    for t in run.tests:
        ms = rng.randint(2, 900) if "integration" not in t.file else rng.randint(200, 6000)
        status = "FAILED" if t.fqn in failing else "SKIPPED" if t.skipped else "PASSED"
        case: dict[str, Any] = {
            "type": "test_case",
            "uuid": _uuid(rng),
            "name": t.name,
            "fully_qualified_name": t.fqn,
            "package_name": t.file.rsplit("/", 1)[0],
            "status": status,
            "duration": f"PT{ms / 1000:.3f}S",
        }
        if status == "FAILED":
            msg = _failure_message(run, t)
            case["test_case_reasons"] = [
                {"type": "test_case_reason", "message": msg[0], "stack_trace": "\n".join(msg[1:])}
            ]
        elif status == "SKIPPED":
            case["test_case_reasons"] = [
                {"type": "test_case_reason", "message": "skipped: flaky on CI, see ticket", "stack_trace": ""}
            ]
        out.append(case)
    return out


_PY_ERRORS = (
    ("AssertionError: assert {a} == {b}", "assert result == expected"),
    ("KeyError: '{key}'", "value = payload['{key}']"),
    (
        "TypeError: unsupported operand type(s) for *: 'NoneType' and 'Decimal'",
        "line = item.unit_price * item.quantity * rate",
    ),
    ("AttributeError: 'NoneType' object has no attribute 'items'", "for item in cart.items:"),
)


def _failure_message(run: StepRun, t: TestDef) -> list[str]:
    """First line: the message; following lines: the stack trace. Deterministic per test."""
    assert run.failure is not None
    for fqn, lines in run.failure.messages:
        if fqn == t.fqn:
            return list(lines)
    rng = random.Random(f"{run.seed}:{t.fqn}")
    lang = run.repo.language
    if lang == "python":
        msg, code = rng.choice(_PY_ERRORS)
        msg = msg.format(
            a=rng.randint(2, 99),
            b=rng.randint(100, 999),
            key=rng.choice(("region", "currency", "client_id", "sku")),
        )
        code = code.format(key="region")
        line = rng.randint(20, 60)
        return [
            msg,
            f"{t.file}:{t.line}: in {t.name}",
            "    result = call_under_test(payload)",
            f"{t.target}:{line}: in {t.target.rsplit('/', 1)[-1][:-3]}",
            f"    {code}",
            f"E   {msg}",
        ]
    if lang == "go":
        return [
            f"expected status 200, got {rng.choice((409, 500, 502))}",
            f"{t.file}:{t.line}: ",
            "    Error Trace:\t" + f"{t.file}:{t.line}",
            f"    Error:      \tNot equal: expected: 200 actual  : {rng.choice((409, 500))}",
            f"    Test:       \t{t.name}",
        ]
    if lang == "typescript":
        return [
            (
                "expect(received).toEqual(expected) // deep equality\n\nExpected: "
                f'"€{rng.randint(10, 99)}.00"\nReceived: "€NaN"'
            ),
            f"    at Object.<anonymous> ({t.file}:{t.line}:{rng.randint(5, 30)})",
            f"    at {t.target}:{rng.randint(10, 60)}:{rng.randint(3, 20)}",
        ]
    return [
        "java.lang.AssertionError: Expected <true>, actual <false>.",
        f"    at {t.fqn}({t.file.rsplit('/', 1)[-1]}:{t.line})",
    ]


# ------------------------------------------------------------------------------------------ logs


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def render_log(run: StepRun) -> str:
    """The full (or, while running, partial) log text of a step."""
    rng = random.Random(run.seed)
    out: list[str] = []
    w = out.append
    w("+ umask 000\n")
    w(
        f'+ GIT_LFS_SKIP_SMUDGE=1 retry 6 git clone --branch="{run.ref_name}" --depth 50 '
        "https://x-token-auth:$REPOSITORY_OAUTH_ACCESS_TOKEN@bitbucket.org/$BITBUCKET_REPO_FULL_NAME.git "
        "$BUILD_DIR"
    )
    w("Cloning into '/opt/atlassian/pipelines/agent/build'...\n")
    w(f"+ git reset --hard {run.commit}")
    w(f"HEAD is now at {run.commit[:7]} {run.subject}\n")
    for cmd in (
        "git config user.name bitbucket-pipelines",
        "git config user.email commits-noreply@bitbucket.org",
        "git config push.default current",
        "git config http.${BITBUCKET_GIT_HTTP_ORIGIN}.proxy http://localhost:29418/",
        "git remote set-url origin http://bitbucket.org/$BITBUCKET_REPO_FULL_NAME",
        "git reflog expire --expire=all --all",
        'echo ".bitbucket/pipelines/generated" >> .git/info/exclude',
        "chmod 777 $BUILD_DIR",
    ):
        w(f"+ {cmd}\n")
    w("Default variables:")
    for var in (
        "BITBUCKET_BRANCH",
        "BITBUCKET_BUILD_NUMBER",
        "BITBUCKET_CLONE_DIR",
        "BITBUCKET_COMMIT",
        "BITBUCKET_GIT_HTTP_ORIGIN",
        "BITBUCKET_PIPELINE_UUID",
        "BITBUCKET_PROJECT_KEY",
        "BITBUCKET_REPO_FULL_NAME",
        "BITBUCKET_REPO_SLUG",
        "BITBUCKET_STEP_UUID",
        "BITBUCKET_WORKSPACE",
        "CI",
    ):
        w(f"    {var}")
    w("")
    image = run.step.image if "/" in run.step.image else f"library/{run.step.image}"
    w("Images used:")
    w(f"    build : docker.io/{image.split(':')[0]}@sha256:{_hex(rng, 64)}")
    w("")
    commands = list(run.extra) + [(c, None) for c in run.step.script]
    fail_at = _failing_command(run, [c for c, _ in commands])
    for i, (cmd, canned) in enumerate(commands):
        w(f"+ {cmd}")
        if canned is not None:
            out.extend(canned)
            w("")
            continue
        failed_here = i == fail_at
        out.extend(_command_output(run, cmd, rng, failed_here))
        w("")
        if failed_here:
            break
    if run.status == "STOPPED":
        cut = max(12, int(len(out) * rng.uniform(0.5, 0.9)))
        out = out[:cut]
    if run.status == "IN_PROGRESS":
        out = out[: max(10, int(len(out) * 0.45))]
        return "\n".join(out) + "\n"
    if run.failure and run.failure.mode == "error":
        out = out[: max(14, int(len(out) * 0.4))]
        out.append(f"[{run.failure.error_key}] {run.failure.error_message}")
    if run.failure and run.failure.mode == "oom":
        out += ["Killed", f"Container '{run.step.name}' exceeded memory limit."]
    if run.failure and run.failure.mode == "timeout":
        out += ["", "Step exceeded processing limit of 120 minutes."]
    if run.tests and run.status not in ("STOPPED", "IN_PROGRESS") and run.reports():
        s = test_summary(run)
        out += [
            (
                "Searching for test report files in directories named [test-results, failsafe-reports, "
                "test-reports, TestResults, surefire-reports] down to a depth of 4"
            ),
            "Finished scanning for test reports. Found 1 test report files.",
            (
                f"Merged test suites, total number tests is {s['number_of_test_cases']}, with "
                f"{s['number_of_failed_test_cases']} failures and 0 errors."
            ),
        ]
    return "\n".join(out) + "\n"


def _failing_command(run: StepRun, commands: list[str]) -> int | None:
    f = run.failure
    if f is None or f.mode in ("stopped", "error"):
        return None
    n = len(commands)
    prefer = {
        "resolver": ("pip install -r", "npm ci", "go mod download", "./gradlew"),
        "compile": ("compileall", "go build", "npm run build", "assembleDebug", "npx tsc"),
        "oom": (
            "compileall",
            "go build",
            "npm run build",
            "assembleDebug",
            "pytest",
            "npm test",
            "go test",
            "testDebug",
        ),
        "tests": ("pytest", "go test", "npm test", "testDebug"),
        "timeout": ("pytest", "go test", "npm test", "testDebug", "dbt run"),
        "lint": ("ruff", "mypy", "golangci", "npm run lint", "ktlint"),
        "deploy": ("deploy.sh",),
        "smoke": ("smoke-test",),
        "plan": ("terraform plan", "terraform validate"),
        "dbt": ("dbt run", "dbt test"),
    }.get(f.mode, ())
    for i, c in enumerate(commands):
        if any(p in c for p in prefer):
            return i
    return n - 1


def _command_output(run: StepRun, cmd: str, rng: random.Random, failed: bool) -> list[str]:
    mode = run.failure.mode if (run.failure and failed) else None
    spec = run.repo
    if (
        mode in ("resolver", "compile", "lint", "deploy", "smoke", "plan", "dbt")
        and run.failure
        and run.failure.lines
    ):
        head = (
            _command_output(run, cmd, rng, False)[:4] if mode == "resolver" and cmd.startswith("pip") else []
        )
        return head + list(run.failure.lines)
    if cmd.startswith("pip install"):
        if "ruff" in cmd:
            return [
                "Collecting ruff==0.4.4",
                "Collecting mypy==1.10.0",
                (
                    "Successfully installed mypy-1.10.0 mypy-extensions-1.0.0 ruff-0.4.4 "
                    "typing-extensions-4.11.0"
                ),
            ]
        lines: list[str] = []
        for name, ver in spec.deps:
            base = name.split("[")[0]
            lines.append(f"Collecting {name}=={ver} (from -r requirements.txt (line {len(lines) // 2 + 1}))")
            lines.append(
                f"  Downloading {base.replace('-', '_')}-{ver}-py3-none-any.whl ({rng.randint(40, 900)} kB)"
            )
        lines.append("Installing collected packages: " + ", ".join(n.split("[")[0] for n, _ in spec.deps))
        lines.append("Successfully installed " + " ".join(f"{n.split('[')[0]}-{v}" for n, v in spec.deps))
        if mode == "resolver":
            return [*lines[:4], "ERROR: ResolutionImpossible"]
        return lines
    if "compileall" in cmd:
        if mode == "compile":
            f = f"src/{spec.pkg}/{spec.modules[rng.randrange(len(spec.modules))][0]}.py"
            return [
                f"*** Error compiling '{f}'...",
                f'  File "{f}", line {rng.randint(20, 80)}',
                "    return {key: value for key, value in payload.items() if value is not None",
                "                                                                             ^",
                "SyntaxError: '{' was never closed",
            ]
        return []
    if cmd.startswith("pytest"):
        return _pytest(run, rng, mode)
    if cmd.startswith("ruff"):
        if mode == "lint":
            f = f"src/{spec.pkg}/{spec.modules[0][0]}.py"
            return [
                f"{f}:{rng.randint(3, 9)}:8: F401 [*] `typing.Any` imported but unused",
                f"{f}:{rng.randint(20, 60)}:89: E501 Line too long (118 > 110)",
                "Found 2 errors.",
                "[*] 1 fixable with the `--fix` option.",
            ]
        return ["All checks passed!"]
    if cmd.startswith("mypy"):
        return [f"Success: no issues found in {len(spec.modules) + 1} source files"]
    if cmd.startswith("docker compose"):
        return [
            " Network ci_default  Created",
            " Container ci-postgres-1  Created",
            " Container ci-redis-1  Created",
            " Container ci-postgres-1  Started",
            " Container ci-redis-1  Started",
        ]
    if cmd.startswith("go mod download"):
        return []
    if cmd.startswith("go build"):
        if mode == "compile":
            m = spec.modules[rng.randrange(len(spec.modules))][0]
            return [
                f"# bitbucket.org/acme/{spec.slug}/internal/{m}",
                f"internal/{m}/{m}.go:{rng.randint(20, 70)}:{rng.randint(2, 30)}: undefined: idempotencyKey",
                (
                    f"internal/{m}/{m}.go:{rng.randint(71, 90)}:9: too many arguments in call to "
                    f"New{m.capitalize()}"
                ),
            ]
        return []
    if cmd.startswith("go test"):
        return _gotest(run, rng, mode)
    if cmd.startswith("golangci-lint"):
        if mode == "lint":
            m = spec.modules[0][0]
            return [
                f"internal/{m}/{m}.go:{rng.randint(20, 60)}:2: ineffectual assignment to err (ineffassign)",
                "\terr = c.refresh(ctx)",
                "\t^",
                (
                    f"internal/{m}/{m}.go:{rng.randint(61, 90)}:15: Error return value of "
                    "`resp.Body.Close` is not checked (errcheck)"
                ),
            ]
        return []
    if cmd == "npm ci":
        if mode == "resolver":
            return ["npm ERR! code ERESOLVE", "npm ERR! ERESOLVE could not resolve"]
        return [
            (
                f"added {rng.randint(900, 1600)} packages, and audited {rng.randint(1601, 1700)} "
                f"packages in {rng.randint(18, 60)}s"
            ),
            "",
            f"{rng.randint(150, 260)} packages are looking for funding",
            "  run `npm fund` for details",
            "",
            "found 0 vulnerabilities",
        ]
    if cmd == "npm run build":
        if spec.slug == "web-frontend":
            head = [
                "",
                f"> @acme/{spec.slug}@1.0.0 build",
                "> next build",
                "",
                "   ▲ Next.js 14.2.3",
                "",
                "   Creating an optimized production build ...",
            ]
            if mode == "compile":
                return [
                    *head,
                    "Failed to compile.",
                    "",
                    "./src/components/CartSummary.tsx:42:17",
                    "Type error: Property 'taxTotal' does not exist on type 'CartTotals'.",
                    "",
                    "  40 |   const totals = useCartTotals();",
                    "  41 |   return (",
                    "> 42 |     <Money value={totals.taxTotal} />",
                    "     |                 ^",
                ]
            return [
                *head,
                " ✓ Compiled successfully",
                " ✓ Linting and checking validity of types",
                f" ✓ Generating static pages ({rng.randint(30, 60)}/{rng.randint(60, 70)})",
                "",
                "Route (pages)                              Size     First Load JS",
                (
                    "┌ ○ /                                      "
                    f"{rng.randint(3, 9)}.{rng.randint(0, 9)} kB        {rng.randint(90, 130)} kB"
                ),
                "└ ○ /checkout                              12.1 kB         141 kB",
            ]
        head = ["", f"> @acme/{spec.slug}@1.0.0 build", "> nest build", ""]
        if mode == "compile":
            m = spec.modules[0][0]
            return [
                *head,
                (
                    f"src/{m}.ts:{rng.randint(10, 40)}:{rng.randint(3, 20)} - error TS2339: Property "
                    "'locale' does not exist on type 'OrderEvent'."
                ),
                "",
                "Found 1 error(s).",
            ]
        return head
    if cmd.startswith("npm test"):
        return _jest(run, rng, mode)
    if cmd == "npm run lint":
        head = ["", f"> @acme/{spec.slug}@1.0.0 lint", "> eslint . --ext .ts,.tsx", ""]
        if mode == "lint":
            m = spec.modules[0][0]
            return [
                *head,
                f"/opt/atlassian/pipelines/agent/build/src/{m}.ts",
                (
                    f"  {rng.randint(5, 40)}:7  error  'result' is assigned a value but never used  "
                    "@typescript-eslint/no-unused-vars"
                ),
                f"  {rng.randint(41, 80)}:3  error  Unexpected console statement                no-console",
                "",
                "✖ 2 problems (2 errors, 0 warnings)",
            ]
        return head
    if cmd.startswith("npx tsc"):
        return []
    if cmd.startswith("./gradlew"):
        return _gradle(run, cmd, rng, mode)
    if cmd.startswith("terraform"):
        return _terraform(cmd, rng, mode)
    if cmd.startswith("cd "):
        return []
    if "deploy.sh" in cmd:
        env = cmd.split()[1]
        head = [
            f'Release "{spec.slug}" has been upgraded. Happy Helming!' if mode != "deploy" else "",
            f"NAME: {spec.slug}",
            f"NAMESPACE: {env}",
            f"STATUS: {'deployed' if mode != 'deploy' else 'pending-upgrade'}",
            f"REVISION: {rng.randint(120, 900)}",
        ]
        if mode == "deploy":
            return [
                (
                    f'Waiting for deployment "{spec.slug}" rollout to finish: 1 of 3 updated replicas '
                    "are available..."
                ),
                "Error: UPGRADE FAILED: context deadline exceeded",
                f'deployment "{spec.slug}" exceeded its progress deadline',
            ]
        return [
            *head,
            (
                f'Waiting for deployment "{spec.slug}" rollout to finish: 2 of 3 updated replicas are '
                "available..."
            ),
            f'deployment "{spec.slug}" successfully rolled out',
        ]
    if "smoke-test.sh" in cmd:
        if mode == "smoke":
            return [
                "curl: (22) The requested URL returned error: 503",
                "curl: (22) The requested URL returned error: 503",
                "smoke test failed",
            ]
        return [f'{{"status":"ok","service":"{spec.slug}","version":"{run.commit[:7]}"}}']
    if cmd.startswith("dbt"):
        if mode == "dbt" or mode == "timeout":
            return [
                "Running with dbt=1.7.13",
                "Found 48 models, 112 tests, 6 sources",
                "",
                "Database Error in model fct_orders (models/orders/fct_orders.sql)",
                "  canceling statement due to lock timeout",
            ]
        return [
            "Running with dbt=1.7.13",
            "Found 48 models, 112 tests, 6 sources",
            "",
            (
                f"Finished running 48 view/table models in 0 hours {rng.randint(4, 14)} minutes and "
                f"{rng.randint(1, 59)}.{rng.randint(10, 99)} seconds."
            ),
            "",
            "Completed successfully",
            "",
            "Done. PASS=48 WARN=0 ERROR=0 SKIP=0 TOTAL=48",
        ]
    return []


def _pytest(run: StepRun, rng: random.Random, mode: str | None) -> list[str]:
    tests = run.tests
    failing = {t.fqn for t in run.failing()}
    lines = [
        "============================= test session starts ==============================",
        "platform linux -- Python 3.11.9, pytest-8.2.0, pluggy-1.5.0",
        "rootdir: /opt/atlassian/pipelines/agent/build",
        "configfile: pyproject.toml",
        "plugins: asyncio-0.23.6, cov-5.0.0",
        f"collected {len(tests)} items",
        "",
    ]
    by_file: dict[str, list[TestDef]] = {}
    for t in tests:
        by_file.setdefault(t.file, []).append(t)
    done = 0
    for file, ts in by_file.items():
        done += len(ts)
        marks = "".join("F" if t.fqn in failing else "s" if t.skipped else "." for t in ts)
        lines.append(f"{file} {marks:<40} [{int(100 * done / max(1, len(tests))):3d}%]")
        if mode == "timeout" and done > len(tests) // 2:
            lines.append(f"{ts[-1].file} ")
            return lines
        if mode == "oom" and done > len(tests) // 3:
            return lines
    secs = run.duration * rng.uniform(0.4, 0.7)
    skipped = sum(1 for t in tests if t.skipped and t.fqn not in failing)
    if failing:
        lines += ["", "=================================== FAILURES ==================================="]
        for t in run.failing():
            msg = _failure_message(run, t)
            lines.append(f"_{'_' * 20} {t.name} {'_' * 20}")
            lines.append("")
            lines += msg[1:]
            lines.append("")
        lines.append("=========================== short test summary info ============================")
        for t in run.failing():
            lines.append(f"FAILED {t.fqn} - {_failure_message(run, t)[0]}")
        lines.append(
            f"============= {len(failing)} failed, {len(tests) - len(failing) - skipped} passed, "
            f"{skipped} skipped in {secs:.2f}s =============="
        )
    else:
        lines.append(
            f"======================= {len(tests) - skipped} passed, {skipped} skipped in "
            f"{secs:.2f}s ========================"
        )
    return lines


def _gotest(run: StepRun, rng: random.Random, mode: str | None) -> list[str]:
    failing = {t.fqn: t for t in run.failing()}
    lines: list[str] = []
    pkgs: dict[str, list[TestDef]] = {}
    for t in run.tests:
        pkgs.setdefault(t.fqn.rsplit(".", 1)[0], []).append(t)
    bad = False
    for pkg, ts in pkgs.items():
        fails = [t for t in ts if t.fqn in failing]
        for t in fails:
            msg = _failure_message(run, t)
            lines.append(f"--- FAIL: {t.name} ({rng.uniform(0.01, 0.9):.2f}s)")
            lines += ["    " + m for m in msg[1:]]
        if fails:
            bad = True
            lines.append("FAIL")
            lines.append(f"FAIL\t{pkg}\t{rng.uniform(0.2, 3):.3f}s")
        else:
            lines.append(f"ok  \t{pkg}\t{rng.uniform(0.05, 2):.3f}s")
    if mode == "timeout":
        lines.append("panic: test timed out after 10m0s")
    if bad:
        lines.append("FAIL")
    return lines


def _jest(run: StepRun, rng: random.Random, mode: str | None) -> list[str]:
    failing = {t.fqn for t in run.failing()}
    spec = run.repo
    lines = [
        "",
        f"> @acme/{spec.slug}@1.0.0 test",
        "> jest --ci --reporters=default --reporters=jest-junit",
        "",
    ]
    by_file: dict[str, list[TestDef]] = {}
    for t in run.tests:
        by_file.setdefault(t.file, []).append(t)
    for file, ts in by_file.items():
        fails = [t for t in ts if t.fqn in failing]
        lines.append(f"{'FAIL' if fails else 'PASS'} {file} ({rng.uniform(0.5, 6):.2f} s)")
        for t in fails:
            msg = _failure_message(run, t)
            lines += (
                [f"  ● {t.name.replace(' ', ' › ', 1)}", ""]
                + ["    " + m for m in msg[0].splitlines()]
                + [""]
                + msg[1:]
                + [""]
            )
    n = len(run.tests)
    skipped = sum(1 for t in run.tests if t.skipped)
    lines.append(
        f"Test Suites: {len({t.file for t in run.tests if t.fqn in failing})} failed, {len(by_file)} total"
        if failing
        else f"Test Suites: {len(by_file)} passed, {len(by_file)} total"
    )
    lines.append(
        (
            f"Tests:       {len(failing)} failed, {skipped} skipped, {n - len(failing) - skipped} "
            f"passed, {n} total"
        )
        if failing
        else f"Tests:       {skipped} skipped, {n - skipped} passed, {n} total"
    )
    lines.append(f"Time:        {rng.uniform(8, 40):.3f} s")
    return lines


def _gradle(run: StepRun, cmd: str, rng: random.Random, mode: str | None) -> list[str]:
    lines = [
        "Downloading https://services.gradle.org/distributions/gradle-8.7-bin.zip",
        "Welcome to Gradle 8.7!",
        "",
        "> Task :shared:compileKotlinMetadata",
        "> Task :shared:compileDebugKotlinAndroid",
    ]
    if mode == "compile":
        return [
            *lines,
            (
                "e: "
                "file:///opt/atlassian/pipelines/agent/build/shared/src/commonMain/kotlin/"
                "com/acme/shop/cart/CartViewModel.kt:57:21 "
                "Unresolved reference: discountCode"
            ),
            "",
            "> Task :shared:compileDebugKotlinAndroid FAILED",
            "",
            "FAILURE: Build failed with an exception.",
            "",
            "BUILD FAILED in 3m 2s",
        ]
    if "testDebug" in cmd:
        failing = run.failing()
        for t in run.tests:
            if t in failing:
                lines.append(f"{t.fqn.rsplit('.', 1)[0].rsplit('.', 1)[1]} > {t.name} FAILED")
                lines += ["    " + m for m in _failure_message(run, t)]
        if failing:
            return [
                *lines,
                "",
                f"{len(run.tests)} tests completed, {len(failing)} failed",
                "> Task :shared:testDebugUnitTest FAILED",
                "",
                "BUILD FAILED in 5m 41s",
            ]
    if mode == "lint":
        return [
            *lines,
            "> Task :shared:ktlintCommonMainSourceSetCheck FAILED",
            (
                "shared/src/commonMain/kotlin/com/acme/shop/cart/CartViewModel.kt:12:1 Unexpected "
                'blank line(s) before "}" (no-blank-line-before-rbrace)'
            ),
            "",
            "BUILD FAILED in 1m 12s",
        ]
    return [
        *lines,
        "",
        f"BUILD SUCCESSFUL in {rng.randint(1, 6)}m {rng.randint(1, 59)}s",
        (
            f"{rng.randint(30, 90)} actionable tasks: {rng.randint(10, 30)} executed, "
            f"{rng.randint(10, 60)} up-to-date"
        ),
    ]


def _terraform(cmd: str, rng: random.Random, mode: str | None) -> list[str]:
    if "fmt" in cmd:
        return []
    if "init" in cmd:
        return [
            "Initializing the backend...",
            "Initializing provider plugins...",
            '- Finding hashicorp/aws versions matching "~> 5.47"...',
            "- Installing hashicorp/aws v5.49.0...",
            "",
            "Terraform has been successfully initialized!",
        ]
    if "validate" in cmd:
        if mode == "plan":
            return [
                "╷",
                "│ Error: Unsupported argument",
                "│",
                '│   on modules/eks/main.tf line 14, in resource "aws_eks_node_group" "eks":',
                '│   14:   capacity_typ = "SPOT"',
                "│",
                '│ An argument named "capacity_typ" is not expected here. Did you mean "capacity_type"?',
                "╵",
            ]
        return ["Success! The configuration is valid."]
    if "plan" in cmd:
        return [
            "Refreshing state...",
            f"Plan: {rng.randint(0, 4)} to add, {rng.randint(0, 6)} to change, 0 to destroy.",
            "",
            "Saved the plan to: tfplan",
        ]
    return []
