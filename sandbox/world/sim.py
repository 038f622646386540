"""The per-repository simulation: work items -> commits, branches, pull requests and pipeline runs.

Random work is planned first (`plan_random`), scenarios add planned items and reserve windows, then
`run_events` replays everything in time order so branch heads, parents, merge commits and every
commit's files (`trees`) are always consistent. Pipelines are recorded as `PipeSpec`s (outcome and
step durations decided up front) and only turned into Bitbucket JSON by the generator once build
numbers are known.
"""

from __future__ import annotations

import bisect
import math
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bbscout.sandbox.world.content import FOLLOW_UPS, RepoSpec, StepDef, branch_name, ci_steps, topic
from bbscout.sandbox.world.logs import Failure
from bbscout.sandbox.world.model import FileChange
from bbscout.sandbox.world.sources import ADDED_LINES, TestDef, source_tree, test_catalog
from bbscout.sandbox.world.trees import Lines, Tree, merge, splice

# lines that name something: a definition, a configuration key or assignment, a pinned version
NAMING_LINE = re.compile(
    r"^\s*(@|(def|class|func|fun|function|export|interface|type|struct|enum|package|import|from|resource"
    r"|module|variable|output|provider|terraform|val|var|const|object|describe|it)\b)"
    r"|^\s*\"?[\w.\-/@]+\"?\s*[:=]"
    r"|\d+\.\d+"
)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass
class Outcome:
    """How a pipeline ends: the result and, unless SUCCESSFUL, the step where it happened."""

    result: str = "SUCCESSFUL"  # SUCCESSFUL | FAILED | ERROR | STOPPED
    step: str | None = None  # step name
    failure: Failure | None = None
    terminator: str | None = None  # nickname (STOPPED)
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()  # extra (command, output) in the failing step


@dataclass(frozen=True)
class Edit:
    """A planned change to one file, made on the branch's own copy when its commit is: replace the
    first run of lines equal to `old` with `new`; with no `old`, insert `new` after the first line
    equal to `after`, or at the end of the file."""

    path: str
    new: tuple[str, ...]
    old: tuple[str, ...] = ()
    after: str | None = None


@dataclass
class CommitPlan:
    at: datetime
    author: str  # nickname
    message: str
    edits: list[Edit] | None = None  # None: random edits
    changes: list[FileChange] | None = None  # set when committed: the diff against the first parent
    force: dict[str, Outcome] = field(default_factory=dict)  # pipeline kind ("push"/"pr") -> outcome
    merge_from_base: bool = False  # "Merge branch 'main' into ..." commit
    hash: str = ""


@dataclass
class PRPlan:
    title: str
    description: str
    opened: datetime
    state: str  # final state: MERGED | DECLINED | SUPERSEDED | OPEN
    closed: datetime | None
    reviewers: list[str]
    draft: bool = False
    closed_by: str | None = None
    reason: str = ""
    merge_force: Outcome | None = None  # outcome of the target-branch pipeline of the merge commit
    merge_message: str | None = None
    id: int = 0
    merge_hash: str = ""
    dest_hash: str = ""  # destination head when last updated
    commits: list[str] = field(default_factory=list)  # the source branch's own commits, oldest first
    merged_commits: list[str] = field(default_factory=list)  # what it merged (not in dest_hash), newest first
    approvals: dict[str, str] = field(default_factory=dict)  # nick -> "approved" | "changes_requested"
    live: bool = False  # opened and not yet closed during the replay
    n_comments: int | None = None  # None: random
    extra_comments: list[tuple[str, datetime, str]] = field(default_factory=list)  # (nick, at, text)
    feature: Feature | None = None


@dataclass
class Feature:
    """A branch of work: commits, optionally a PR, merged/declined/left open."""

    branch: str
    base: str  # branch it is created from
    target: str  # PR destination
    author: str
    created: datetime
    commits: list[CommitPlan]
    pr: PRPlan | None
    delete_branch: bool = True
    planned: bool = False  # from a scenario: never shifted or suppressed
    head: str = ""


@dataclass
class PipeSpec:
    """One pipeline run before it becomes JSON."""

    created: datetime
    commit: str
    kind: str  # push | pr | custom | schedule
    ref_name: str
    selector: dict[str, str]
    trigger: str  # PUSH | MANUAL | SCHEDULED
    creator: str | None
    steps: tuple[StepDef, ...]
    durations: list[int]
    outcome: Outcome
    seed: int
    subject: str
    pr: PRPlan | None = None
    pr_source: str = ""
    pr_dest_hash: str = ""
    protected: bool = False  # planted by a scenario: do not re-roll
    release_of: PipeSpec | None = None  # production deploys: the main pipeline whose build is released
    uuid: str = ""
    build_number: int = 0
    # filled by schedule()
    starts: list[datetime | None] = field(default_factory=list)
    ends: list[datetime | None] = field(default_factory=list)
    results: list[str] = field(
        default_factory=list
    )  # per step: SUCCESSFUL/FAILED/ERROR/STOPPED/NOT_RUN/IN_PROGRESS/PENDING
    completed_on: datetime | None = None
    state: str = "PENDING"  # PENDING | IN_PROGRESS | COMPLETED
    step_ids: list[tuple[str, int]] = field(default_factory=list)  # (step uuid, log seed), set by the builder

    def _settle(self) -> None:
        if any(r in ("IN_PROGRESS", "PENDING") for r in self.results):
            self.completed_on = None
            self.state = "PENDING" if all(r == "PENDING" for r in self.results) else "IN_PROGRESS"
            return
        ends = [e for e in self.ends if e is not None]
        self.completed_on = max(ends) if ends else self.created + timedelta(seconds=20)
        self.state = "COMPLETED"


def _find_run(lines: list[str], run: tuple[str, ...], path: str) -> int:
    for i in range(len(lines) - len(run) + 1):
        if tuple(lines[i : i + len(run)]) == run:
            return i
    raise ValueError(f"planned edit of {path}: {run[0]!r} is not in the file on this branch")


def ri(rng: random.Random, a: int, b: int) -> int:
    """`rng.randint(a, b)` without its Python-level overhead (hot paths of big worlds)."""
    return a + int(rng.random() * (b - a + 1))


def uid(rng: random.Random) -> str:
    """A braced UUID4 string from the rng (same bits as `uuid.UUID(int=..., version=4)`, faster)."""
    x = rng.getrandbits(128)
    x = (x & ~(0xC000 << 48) & ~(0xF000 << 64)) | (0x8000 << 48) | (0x4000 << 64)
    h = f"{x:032x}"
    return f"{{{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}}}"


def work_time(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    """A time in [lo, hi], biased to weekdays 07-19 UTC like a real team (EU + US east)."""
    if hi <= lo:
        return lo
    span = (hi - lo).total_seconds()
    t = lo
    for _ in range(6):
        t = lo + timedelta(seconds=int(rng.random() * span))
        weekend = t.weekday() >= 5
        off_hours = not 7 <= t.hour < 19
        if (weekend and rng.random() < 0.8) or (off_hours and rng.random() < 0.75):
            continue
        break
    return t


class RepoSim:
    """State of one repository while the world is generated."""

    def __init__(self, spec: RepoSpec, rng: random.Random, ctx: SimContext) -> None:
        self.spec = spec
        self.rng = rng
        self.ctx = ctx
        self.files = source_tree(spec)
        self.tests = test_catalog(spec)
        self.steps = ci_steps(spec)
        self.features: list[Feature] = []
        self.pushes: list[tuple[str, CommitPlan, bool]] = []  # (branch, commit, planned)
        self.reserved: list[tuple[datetime, datetime]] = []  # no random main events / prod deploys
        self.deploy_reserved: list[tuple[datetime, datetime]] = []  # no random prod deploys
        self.heads: dict[str, str] = {}
        self.commits: dict[str, dict] = {}  # hash -> plan info: {"plan", "branch", "parents", "pr"}
        self.commit_seq: list[str] = []  # generation order
        self.pipes: list[PipeSpec] = []
        self.prs: list[PRPlan] = []
        self.tags: dict[str, str] = {}
        self.open_branches: dict[str, str] = {}
        self._lines = {p: c.splitlines() for p, c in self.files.items()}
        self._code_paths = [
            p
            for p in self.files
            if (
                p.startswith(("src/", "internal/", "shared/", "modules/", "tests/", "envs/"))
                or p.endswith((".yaml", ".txt", ".json", ".tf"))
            )
            and not p.endswith("-lock.json")  # tools write lockfiles, people do not
        ]
        # file contents: every commit's tree, and what edits may touch (see _removable)
        self.lines = Lines()
        self.trees: dict[str, Tree] = {}
        self.seq: dict[str, int] = {}  # hash -> generation index (parents come first)
        self.reach: dict[str, set[str]] = {}  # long-lived branch -> every commit its head contains
        self.removed_lines: set[int] = set()
        self.protected: set[tuple[str, str]] = set()  # (path, line) that planned edits rely on
        symbols = sorted({s for _, syms in spec.modules for s in syms}, key=len, reverse=True)
        self._symbols = re.compile("|".join(map(re.escape, symbols))) if symbols else None

    # ------------------------------------------------------------------ planning

    def team(self) -> list[str]:
        return list(self.spec.team)

    def reserved_at(self, t: datetime) -> bool:
        return any(a <= t <= b for a, b in self.reserved)

    def plan_random(self) -> None:
        """Random features, stale branches, direct pushes and (git-flow repos) releases."""
        rng, ctx, spec = self.rng, self.ctx, self.spec
        target_commits = max(6.0, ctx.days * ctx.commits_per_day * spec.activity)
        n_features = max(3, round(target_commits / 2.5))
        lo, hi = ctx.start + HOUR, ctx.anchor
        team = self.team()
        for _ in range(n_features):
            created = work_time(rng, lo, hi - 2 * HOUR)
            author = rng.choice(team) if rng.random() < 0.85 else rng.choice(self.ctx.all_people)
            self.features.append(self._random_feature(created, author))
        # stale branches: old work never opened as a PR
        for _ in range(rng.randint(1, 2)):
            created = work_time(rng, lo, lo + (hi - lo) * 0.3)
            f = self._random_feature(created, rng.choice(team), with_pr=False)
            self.features.append(f)
        # direct pushes to the main branch (version bumps, docs, config)
        for _ in range(max(1, round(target_commits * 0.05))):
            at = work_time(rng, lo, hi)
            msg = rng.choice(
                (
                    "docs: update README",
                    "chore: bump version",
                    "chore(ci): cache dependencies between steps",
                    "fix(config): correct staging hostname",
                    "docs: add runbook link",
                )
            )
            self.pushes.append((spec.main, CommitPlan(at, team[0], msg), False))
        if spec.develop:
            t = ctx.start + DAY * 2
            minor = 10
            while t < hi - DAY:
                t = work_time(rng, t + 6 * DAY, t + 8 * DAY)
                if t >= hi - 2 * HOUR:
                    break
                minor += 1
                lead = team[0]
                version = f"4.{minor}.0"
                c = CommitPlan(t + 10 * MIN, lead, f"chore(release): bump version to {version}")
                merged = t + timedelta(hours=rng.uniform(4, 30))
                pr = PRPlan(
                    f"Release {version}",
                    (
                        f"Release {version} to the app stores.\n\nIncludes everything merged to "
                        "develop since the last release."
                    ),
                    t + 20 * MIN,
                    "MERGED",
                    merged,
                    [r for r in team if r != lead][:2],
                )
                self.features.append(Feature(f"release/{version}", "develop", spec.main, lead, t, [c], pr))
        self._supersede_one()

    def _random_feature(self, created: datetime, author: str, with_pr: bool = True) -> Feature:
        rng, spec, ctx = self.rng, self.spec, self.ctx
        kind, scope, subject = topic(spec, rng)
        hotfix = kind == "fix" and rng.random() < 0.12
        branch = branch_name(kind, spec, subject, rng)
        if hotfix:
            branch = "hotfix/" + branch.split("/", 1)[1]
        base = "develop" if spec.develop and not hotfix else spec.main
        n = rng.choices((1, 2, 3, 4, 5), (35, 30, 20, 10, 5))[0]
        at = created
        commits = [CommitPlan(at, author, f"{kind}({scope}): {subject}")]
        for i in range(1, n):
            at = at + timedelta(minutes=max(8, int(rng.expovariate(1 / 150))))
            merge_base = i == n - 1 and n >= 3 and rng.random() < 0.25
            msg = f"Merge branch '{base}' into {branch}" if merge_base else rng.choice(FOLLOW_UPS)
            commits.append(CommitPlan(at, author, msg, merge_from_base=merge_base))
        pr = None
        if with_pr:
            opened_after = commits[-1].at if rng.random() < 0.7 or n == 1 else commits[n // 2 - 1].at
            opened = opened_after + timedelta(minutes=rng.randint(3, 90))
            ticket = f"{spec.jira}-{branch.split('-')[1] if branch.count('-') > 1 else rng.randint(100, 999)}"
            from bbscout.sandbox.world.content import pr_description

            desc = pr_description(spec, kind, scope, subject, ticket, rng)
            others = [p for p in self.team() if p != author] or [p for p in ctx.all_people if p != author]
            reviewers = rng.sample(others, k=min(len(others), rng.choice((1, 2, 2, 3))))
            lag = timedelta(hours=math.exp(rng.gauss(math.log(5), 1.0)))
            closed = max(commits[-1].at + max(lag, 20 * MIN), opened + timedelta(minutes=rng.randint(15, 60)))
            state = "MERGED"
            if rng.random() < 0.07:
                state = "DECLINED"
            title = f"{subject[0].upper()}{subject[1:]}" if rng.random() < 0.5 else f"{ticket}: {subject}"
            pr = PRPlan(title, desc, opened, state, closed, reviewers, draft=False)
        return Feature(branch, base, base, author, created, commits, pr, delete_branch=rng.random() < 0.85)

    def _supersede_one(self) -> None:
        if self.spec.slug != "web-frontend":
            return
        cands = [f for f in self.features if f.pr and f.pr.state == "MERGED" and not f.planned]
        cands.sort(key=lambda f: f.created)
        if len(cands) > 4:
            f = cands[len(cands) // 3]
            assert f.pr is not None
            f.pr.state = "SUPERSEDED"
            f.delete_branch = False

    def apply_constraints(self) -> None:
        """Move random main-branch events out of reserved windows and (quiet world) the last day."""
        cutoff = self.ctx.main_cutoff
        for f in self.features:
            pr = f.pr
            if f.planned or pr is None or pr.closed is None or pr.state != "MERGED":
                continue
            if f.target == self.spec.main:
                for _ in range(5):
                    window = next(((a, b) for a, b in self.reserved if a <= pr.closed <= b), None)
                    if window is None:
                        break
                    pr.closed = window[1] + timedelta(minutes=self.rng.randint(20, 120))
            if cutoff is not None and pr.closed > cutoff:
                pr.closed = None
        keep = []
        for branch, c, planned in self.pushes:
            if not planned and (self.reserved_at(c.at) or (cutoff is not None and c.at > cutoff)):
                continue
            keep.append((branch, c, planned))
        self.pushes = keep

    # ------------------------------------------------------------------ replay

    def run_events(self) -> None:
        anchor = self.ctx.anchor
        events: list[tuple[datetime, int, str, object]] = []
        seq = 0

        def add(t: datetime, kind: str, obj: object) -> None:
            nonlocal seq
            if t <= anchor:
                events.append((t, seq, kind, obj))
                seq += 1

        root = self._root()
        for name in [self.spec.main] + (["develop"] if self.spec.develop else []):
            self.reach[name] = set()
            self._advance(name, root)
        for f in self.features:
            add(f.created - timedelta(seconds=1), "branch", f)
            for c in f.commits:
                add(c.at, "fcommit", (f, c))
            if f.pr and f.pr.opened > anchor:
                f.pr = None
            if f.pr:
                add(f.pr.opened, "open", f)
                if f.pr.closed is not None and f.pr.closed <= anchor:
                    add(f.pr.closed, "close", f)
        for branch, c, _ in self.pushes:
            add(c.at, "push", (branch, c))
        events.sort(key=lambda e: (e[0], e[1]))
        for t, _, kind, obj in events:
            getattr(self, f"_ev_{kind}")(t, obj)
        for f in self.features:
            if f.pr and f.pr.live:
                f.pr.state = "OPEN"
                f.pr.closed = None
                f.pr.closed_by = None
            if f.head and (
                f.pr is None or f.pr.state in ("OPEN", "DECLINED", "SUPERSEDED") or not f.delete_branch
            ):
                self.open_branches[f.branch] = f.head
        for name in [self.spec.main] + (["develop"] if self.spec.develop else []):
            self.open_branches[name] = self.heads[name]

    def _root(self) -> str:
        c = CommitPlan(self.ctx.start, self.spec.team[0], "chore(release): cut monthly baseline", edits=[])
        return self._commit(c, self.spec.main, [], None)

    def _commit(self, plan: CommitPlan, branch: str, parents: list[str], feature: Feature | None) -> str:
        h = f"{self.rng.getrandbits(160):040x}"
        plan.hash = h
        self.commits[h] = {"plan": plan, "branch": branch, "parents": parents, "feature": feature}
        self.seq[h] = len(self.commit_seq)
        self.commit_seq.append(h)
        if not parents:
            tree = self.lines.tree(self.files, h)
        elif len(parents) > 1:
            base = self._merge_base(parents[0], parents[1])
            tree = merge(self.trees[base], self.trees[parents[0]], self.trees[parents[1]])
        elif plan.edits is None:
            tree = self._random_edits(self.trees[parents[0]], h)
        else:
            tree = self._planned_edits(self.trees[parents[0]], plan.edits, h)
        self.trees[h] = tree
        plan.changes = self.lines.changes(self.trees[parents[0]], tree) if parents else []
        return h

    def _advance(self, branch: str, h: str) -> None:
        """Move `branch` to `h`, keeping the set of commits a long-lived branch contains."""
        self.heads[branch] = h
        reach = self.reach.get(branch)
        stack = [h]
        while reach is not None and stack:
            c = stack.pop()
            if c not in reach:
                reach.add(c)
                stack.extend(self.commits[c]["parents"])

    def _new_commits(self, head: str, known: set[str]) -> list[str]:
        """Commits `head` contains that are not in `known` (an ancestor-closed set)."""
        seen: set[str] = set()
        stack = [head]
        while stack:
            c = stack.pop()
            if c not in seen and c not in known:
                seen.add(c)
                stack.extend(self.commits[c]["parents"])
        return list(seen)

    def _merge_base(self, a: str, b: str) -> str:
        """The newest common ancestor of two commits, one of them the head of main or develop."""
        name = next(n for n in self.reach if self.heads[n] in (a, b))
        known, other = self.reach[name], b if self.heads[name] == a else a
        common: set[str] = {
            p for c in self._new_commits(other, known) for p in self.commits[c]["parents"] if p in known
        }
        return max(common or {other}, key=self.seq.__getitem__)

    # ------------------------------------------------------------------ file contents

    def _random_edits(self, tree: Tree, h: str) -> Tree:
        """One to three files, each with a few lines added (and maybe one or two removed) at a random
        place. The rng draws are the same whatever the files hold now, so contents never shift the
        rest of the world; the place moves to the nearest lines that may be removed (_removable)."""
        rng = self.rng
        lang = self.spec.language
        for path in rng.sample(self._code_paths, k=min(len(self._code_paths), rng.choice((1, 1, 2, 2, 3)))):
            lines = self._lines.get(path) or [""]
            start = rng.randrange(max(1, len(lines) - 6)) if len(lines) > 6 else 0
            want = rng.choice((0, 1, 1, 2))
            pool = (
                ADDED_LINES.get(lang, ADDED_LINES["python"])
                if path.endswith((".py", ".go", ".ts", ".tsx", ".kt", ".tf"))
                else ("  retries: 3", "  timeout_ms: 5000", "  enabled: true")
            )
            added = [rng.choice(pool) for _ in range(rng.randint(1, 4))]
            ids = tree[path]
            at, remove = self._place(path, ids, min(start + 3, len(ids)), want, set(pool))
            self.removed_lines.update(ids[at : at + remove])
            tree = splice(tree, path, at, remove, self.lines.new(added, h))
        return tree

    def _place(self, path: str, ids: tuple[int, ...], at: int, want: int, pool: set[str]) -> tuple[int, int]:
        """(index, count): the removable run of up to `want` lines nearest to `at`."""
        ok = "".join("1" if self._removable(path, x, pool) else "0" for x in ids)
        for n in range(want, 0, -1):
            right = ok.find("1" * n, at)
            left = ok.rfind("1" * n, 0, at + n - 1)
            if right >= 0 or left >= 0:
                return (right if left < 0 or 0 <= right - at <= at - left else left), n
        return at, 0

    def _removable(self, path: str, line: int, pool: set[str]) -> bool:
        """Whether a random edit may remove this line. Only lines main already has, that no other
        edit removed, that no planned edit relies on, and that random edits never add: so a
        branch's edits (and a release's) never undo each other or another branch's, merges keep
        every edit, and a range of commits changes exactly what its commits do. Random work also
        never removes a line that names something (a definition, a key, a version, one of the
        repository's symbols): it reworks bodies, and what code search finds stays where it was."""
        text = self.lines.text[line]
        return (
            line not in self.removed_lines
            and text not in pool
            and self.lines.origin[line] in self.reach[self.spec.main]
            and (path, text) not in self.protected
            and not NAMING_LINE.search(text)
            and not (self._symbols and self._symbols.search(text))
        )

    def _planned_edits(self, tree: Tree, edits: list[Edit], h: str) -> Tree:
        for e in edits:
            texts = self.lines.texts(tree.get(e.path, ()))
            if e.old:
                at = _find_run(texts, e.old, e.path)
            elif e.after is not None:
                at = _find_run(texts, (e.after,), e.path) + 1
            else:
                at = len(texts)
            self.removed_lines.update(tree.get(e.path, ())[at : at + len(e.old)])
            tree = splice(tree, e.path, at, len(e.old), self.lines.new(e.new, h))
        return tree

    def plan_edits(self, edits: list[Edit]) -> list[Edit]:
        """Planned edits, with the lines they touch kept away from random edits."""
        for e in edits:
            self.protect(e.path, [*e.old, *e.new, *([e.after] if e.after else [])])
        return edits

    def protect(self, path: str, lines: list[str]) -> None:
        """Random edits never remove these lines of `path` (scenarios rely on them)."""
        self.protected.update((path, x) for x in lines)

    def files_at(self, h: str) -> dict[str, str]:
        return {path: self.lines.render(ids) for path, ids in self.trees[h].items()}

    def forget_contents(self) -> None:
        """Drop every commit's tree once the world holds the changes and the main head's files."""
        self.trees.clear()
        self.lines = Lines()

    def _ev_branch(self, t: datetime, f: Feature) -> None:
        f.head = self.heads.get(f.base, self.heads[self.spec.main])

    def _ev_fcommit(self, t: datetime, obj: tuple[Feature, CommitPlan]) -> None:
        f, c = obj
        parents = [f.head]
        if c.merge_from_base:
            parents.append(self.heads[f.base])
        f.head = self._commit(c, f.branch, parents, f)
        if f.pr is not None and f.pr.live:
            assert f.pr is not None
            f.pr.commits.append(f.head)
            f.pr.dest_hash = self.heads[f.target]
            self._pipe(c.at, f.head, "pr", f.branch, c, pr=f.pr, creator=f.author)
        else:
            self._pipe(c.at, f.head, "push", f.branch, c, creator=f.author)

    def _ev_open(self, t: datetime, f: Feature) -> None:
        assert f.pr is not None
        self.prs.append(f.pr)
        f.pr.id = len(self.prs)
        f.pr.live = True
        f.pr.feature = f
        f.pr.commits = [c.hash for c in f.commits if c.hash]
        f.pr.dest_hash = self.heads[f.target]
        last = next(c for c in reversed(f.commits) if c.hash)
        self._pipe(t, f.head, "pr", f.branch, last, pr=f.pr, creator=f.author)

    def _ev_close(self, t: datetime, f: Feature) -> None:
        pr = f.pr
        assert pr is not None
        pr.live = False
        if pr.state != "MERGED":
            pr.closed_by = pr.closed_by or (
                f.author if pr.state == "SUPERSEDED" or self.rng.random() < 0.5 else pr.reviewers[0]
            )
            pr.reason = pr.reason or (
                "Superseded by a newer pull request"
                if pr.state == "SUPERSEDED"
                else self.rng.choice(
                    (
                        "Not needed anymore, handled in the API instead.",
                        "Going a different direction after the design review.",
                        "",
                    )
                )
            )
            return
        pr.dest_hash = self.heads[f.target]
        pr.merged_commits = self.pr_commits(pr)
        msg = pr.merge_message or f"Merged in {f.branch} (pull request #{pr.id})\n\n{pr.title}"
        merger = pr.closed_by or (pr.reviewers[0] if pr.reviewers and self.rng.random() < 0.4 else f.author)
        pr.closed_by = merger
        plan = CommitPlan(t, merger, msg)
        if pr.merge_force:
            plan.force["push"] = pr.merge_force
        h = self._commit(plan, f.target, [self.heads[f.target], f.head], f)
        pr.merge_hash = h
        self._advance(f.target, h)
        self._pipe(t, h, "push", f.target, plan, creator=merger)
        if f.branch.startswith("release/"):
            self.tags["v" + f.branch.split("/", 1)[1]] = h

    def pr_commits(self, pr: PRPlan) -> list[str]:
        """What Bitbucket lists as a PR's commits: those on its source and not on its destination
        (at the merge for a merged PR), newest first. A release PR's include all of develop's."""
        if pr.merged_commits:
            return pr.merged_commits
        f = pr.feature
        assert f is not None
        new = self._new_commits(pr.commits[-1] if pr.commits else f.head, self.reach[f.target])
        return sorted(new, key=lambda c: (self.commits[c]["plan"].at, self.seq[c]), reverse=True)

    def _ev_push(self, t: datetime, obj: tuple[str, CommitPlan]) -> None:
        branch, c = obj
        h = self._commit(c, branch, [self.heads[branch]], None)
        self._advance(branch, h)
        self._pipe(t, h, "push", branch, c, creator=c.author)

    # ------------------------------------------------------------------ pipelines

    def _pipe(
        self,
        t: datetime,
        commit: str,
        kind: str,
        ref: str,
        plan: CommitPlan,
        *,
        pr: PRPlan | None = None,
        creator: str | None = None,
    ) -> PipeSpec | None:
        spec = self.spec
        created = t + timedelta(seconds=ri(self.rng, 4, 25), microseconds=ri(self.rng, 0, 999_999))
        if created > self.ctx.anchor:
            return None
        if kind == "pr":
            steps = self.steps["default"]
            selector = {"type": "pull-requests", "pattern": "**"}
        elif ref == spec.main:
            steps = self.steps["main"]
            selector = {"type": "branches", "pattern": spec.main}
        elif ref == "develop" or ref.startswith("release/"):
            steps = self.steps["default"]
            selector = {"type": "branches", "pattern": "develop" if ref == "develop" else "release/*"}
        else:
            steps = self.steps["default"]
            selector = {"type": "default"}
        forced = plan.force.get(kind)
        p = PipeSpec(
            created=created,
            commit=commit,
            kind=kind,
            ref_name=ref,
            selector=selector,
            trigger="PUSH",
            creator=creator,
            steps=steps,
            durations=[self._duration(s) for s in steps],
            outcome=forced
            or self.random_outcome(
                steps, main=ref == spec.main and kind == "push", created=created, author=creator
            ),
            seed=self.rng.getrandbits(63),
            subject=plan.message.splitlines()[0],
            pr=pr,
            pr_source=ref if pr else "",
            pr_dest_hash=pr.dest_hash if pr else "",
            protected=forced is not None,
        )
        self.pipes.append(p)
        return p

    def add_pipe(
        self,
        created: datetime,
        commit: str,
        kind: str,
        ref: str,
        selector: dict[str, str],
        trigger: str,
        creator: str | None,
        steps: tuple[StepDef, ...],
        outcome: Outcome | None = None,
        *,
        protected: bool = False,
        release_of: PipeSpec | None = None,
    ) -> PipeSpec:
        """A pipeline not caused by a push (manual custom runs, schedules, scenario reruns)."""
        plan = self.commits[commit]["plan"]
        created = created + timedelta(microseconds=ri(self.rng, 0, 999_999))
        p = PipeSpec(
            created=created,
            commit=commit,
            kind=kind,
            ref_name=ref,
            selector=selector,
            trigger=trigger,
            creator=creator,
            steps=steps,
            durations=[self._duration(s) for s in steps],
            outcome=outcome or self.random_outcome(steps, main=False, created=created, author=creator),
            seed=self.rng.getrandbits(63),
            subject=plan.message.splitlines()[0],
            protected=protected or outcome is not None,
            release_of=release_of,
        )
        self.pipes.append(p)
        return p

    def _duration(self, s: StepDef) -> int:
        return max(8, int(s.mean_seconds * (0.7 + 0.75 * self.rng.random())))

    def random_outcome(
        self, steps: tuple[StepDef, ...], *, main: bool, created: datetime, author: str | None
    ) -> Outcome:
        rng, ctx = self.rng, self.ctx
        r = rng.random()
        if ctx.quiet and created > ctx.anchor - 50 * HOUR:
            return Outcome()
        fail_p, err_p, stop_p = (0.06, 0.004, 0.01) if main else (0.13, 0.006, 0.03)
        if r < fail_p:
            return self.failure_outcome(steps, rng, main=main)
        if r < fail_p + err_p:
            s = rng.choice(steps)
            key, msg = rng.choice(ERRORS)
            return Outcome("ERROR", s.name, Failure("error", error_key=key, error_message=msg))
        if r < fail_p + err_p + stop_p:
            s = rng.choice(steps[: max(1, len(steps) - 1)])
            return Outcome("STOPPED", s.name, Failure("stopped"), terminator=author or self.spec.team[0])
        return Outcome()

    def failure_outcome(self, steps: tuple[StepDef, ...], rng: random.Random, *, main: bool) -> Outcome:
        weights = []
        for s in steps:
            w = {
                "build": 2,
                "test": 6,
                "integration": 3,
                "lint": 2,
                "deploy": 1.2 if main else 0,
                "plan": 3,
                "validate": 2,
                "dbt": 4,
            }.get(s.kind, 1)
            weights.append(w)
        s = rng.choices(steps, weights)[0]
        mode = {
            "build": rng.choices(("compile", "oom"), (8, 2))[0],
            "test": rng.choices(("tests", "timeout", "oom"), (16, 1, 1))[0],
            "integration": rng.choices(("tests", "timeout"), (6, 1))[0],
            "lint": "lint",
            "deploy": rng.choice(("deploy", "smoke")),
            "plan": "plan",
            "validate": "plan",
            "dbt": "dbt",
        }.get(s.kind, "compile")
        failing: tuple[TestDef, ...] = ()
        if mode == "tests":
            pool = [t for t in self.tests_for(s) if not t.skipped and t.fqn not in self.ctx.protected_tests]
            if not pool:
                mode = "compile" if s.kind != "integration" else "timeout"
            else:
                failing = tuple(rng.sample(pool, k=min(len(pool), rng.choice((1, 1, 1, 2, 3)))))
        return Outcome("FAILED", s.name, Failure(mode, tests=failing))

    def tests_for(self, step: StepDef) -> tuple[TestDef, ...]:
        if step.kind == "test":
            return tuple(t for t in self.tests if "integration" not in t.file)
        if step.kind == "integration":
            return tuple(t for t in self.tests if "integration" in t.file)
        return ()

    def schedule(self, p: PipeSpec) -> None:
        """Step start/end times and results from the outcome, cut at the anchor."""
        rng = random.Random(p.seed)
        anchor = self.ctx.anchor
        t = p.created + timedelta(seconds=ri(rng, 6, 40))
        fail_idx = (
            next((i for i, s in enumerate(p.steps) if s.name == p.outcome.step), None)
            if p.outcome.result != "SUCCESSFUL"
            else None
        )
        p.starts, p.ends, p.results = [], [], []
        stopped = False
        for i, (_s, d) in enumerate(zip(p.steps, p.durations, strict=False)):
            if stopped:
                p.starts.append(None)
                p.ends.append(None)
                p.results.append("NOT_RUN")
                continue
            res = "SUCCESSFUL"
            if i == fail_idx:
                res = p.outcome.result
                f = p.outcome.failure
                mode = f.mode if f else ""
                d = (
                    7200
                    if mode == "timeout"
                    else int(
                        d
                        * {"tests": 1.0, "oom": 0.7, "error": 0.3, "stopped": rng.uniform(0.2, 0.8)}.get(
                            mode, 0.55
                        )
                    )
                    + 3
                )
                stopped = True
            start, end = t, t + timedelta(seconds=d)
            if start > anchor:
                p.starts.append(None)
                p.ends.append(None)
                p.results.append("PENDING")
                stopped = False
                t = end
                for _ in p.steps[i + 1 :]:
                    p.starts.append(None)
                    p.ends.append(None)
                    p.results.append("PENDING")
                break
            if end > anchor:
                p.starts.append(start)
                p.ends.append(None)
                p.results.append("IN_PROGRESS")
                for _ in p.steps[i + 1 :]:
                    p.starts.append(None)
                    p.ends.append(None)
                    p.results.append("PENDING")
                break
            p.starts.append(start)
            p.ends.append(end)
            p.results.append(res)
            t = end + timedelta(seconds=ri(rng, 3, 12))
        p._settle()
        p.step_ids = [(uid(rng), rng.getrandbits(63)) for _ in p.steps]

    # ------------------------------------------------------------------ after the replay

    def main_pipes(self) -> list[PipeSpec]:
        return sorted(
            (p for p in self.pipes if p.kind == "push" and p.ref_name == self.spec.main),
            key=lambda p: p.created,
        )

    def main_head_at(self, t: datetime) -> str:
        """The main-branch head at time t (first-parent walk from the final head)."""
        h = self.heads[self.spec.main]
        while True:
            info = self.commits[h]
            if info["plan"].at <= t or not info["parents"]:
                return h
            h = info["parents"][0]

    def push_now(self, at: datetime, message: str, pipeline_delay: timedelta) -> PipeSpec | None:
        """A push to the newest open feature branch at `at` whose pipeline is created after `pipeline_delay`
        (so worlds always have something running or queued at the anchor)."""
        feats = [
            f
            for f in self.features
            if f.head and f.branch in self.open_branches and self.commits[f.head]["plan"].at < at
        ]
        if not feats:
            return None
        f = max(feats, key=lambda f: self.commits[f.head]["plan"].at)
        plan = CommitPlan(at, f.author, message)
        f.head = self._commit(plan, f.branch, [f.head], f)
        self.open_branches[f.branch] = f.head
        live = f.pr is not None and f.pr.state == "OPEN"
        if live:
            assert f.pr is not None
            f.pr.commits.append(f.head)
        p = self._pipe(
            at, f.head, "pr" if live else "push", f.branch, plan, pr=f.pr if live else None, creator=f.author
        )
        if p is not None:
            p.created = at + pipeline_delay
            p.outcome = Outcome()
        return p

    def deploy_prod(
        self,
        at: datetime,
        release: PipeSpec,
        creator: str,
        outcome: Outcome | None = None,
        *,
        planned: bool = True,
    ) -> PipeSpec:
        """Run the manual `deploy-to-production` custom pipeline for a main-branch build."""
        return self.add_pipe(
            at,
            release.commit,
            "custom",
            self.spec.main,
            {"type": "custom", "pattern": "deploy-to-production"},
            "MANUAL",
            creator,
            self.steps["production"],
            outcome or Outcome(),
            protected=planned,
            release_of=release,
        )

    def prod_pipes(self) -> list[PipeSpec]:
        return sorted((p for p in self.pipes if p.release_of is not None), key=lambda p: p.created)

    def plan_prod_deploys(self) -> None:
        """Random production deploys: weekday afternoons, the newest green main build not yet live."""
        if not self.spec.deployable:
            return
        rng, ctx = self.rng, self.ctx
        mains = self.main_pipes()
        for p in mains:
            self.schedule(p)
        green = [
            (end, p)
            for p in mains
            if self.result(p) == "SUCCESSFUL" and p.ends and (end := p.ends[-1]) is not None
        ]
        green.sort(key=lambda pair: pair[0])
        end_times = [end for end, _ in green]
        by_end = [p for _, p in green]
        newest: list[PipeSpec] = []  # newest (by created) among the first k finished
        for p in by_end:
            newest.append(p if not newest or p.created > newest[-1].created else newest[-1])
        day0 = ctx.start.replace(hour=0, minute=0, second=0, microsecond=0) + DAY
        for d in range(ctx.days + 1):
            day = day0 + d * DAY
            weekend = day.weekday() >= 5
            n = 0 if rng.random() > (0.1 if weekend else 0.8) else (2 if rng.random() < 0.3 else 1)
            for _ in range(n):
                t = day + timedelta(minutes=rng.randint(9 * 60 + 30, 17 * 60 + 30))
                if (
                    t > ctx.anchor - 15 * MIN
                    or t < ctx.start + DAY
                    or self.reserved_at(t)
                    or any(a <= t <= b for a, b in self.deploy_reserved)
                ):
                    continue
                if ctx.main_cutoff is not None and t > ctx.main_cutoff:
                    continue
                live = [p for p in self.prod_pipes() if p.created < t]
                last = live[-1].release_of if live else None
                k = bisect.bisect_right(end_times, t - 10 * MIN)
                if k == 0 or (last is not None and newest[k - 1].created <= last.created):
                    continue
                ready = [newest[k - 1]]
                outcome = Outcome()
                if rng.random() < 0.04 and not ctx.quiet:
                    outcome = Outcome(
                        "FAILED", "Deploy to production", Failure(rng.choice(("deploy", "smoke")))
                    )
                who = rng.choice(self.spec.team[:2])
                self.deploy_prod(t, ready[-1], who, outcome, planned=False)

    def plan_schedules(self) -> None:
        """Nightly scheduled custom pipeline (e.g. dbt) on the main branch."""
        if not self.spec.scheduled:
            return
        ctx = self.ctx
        day0 = ctx.start.replace(hour=2, minute=0, second=0, microsecond=0) + DAY
        for d in range(ctx.days + 1):
            t = day0 + d * DAY
            if t > ctx.anchor:
                break
            self.add_pipe(
                t,
                self.main_head_at(t),
                "schedule",
                self.spec.main,
                {"type": "custom", "pattern": self.spec.scheduled},
                "SCHEDULED",
                None,
                self.steps["scheduled"],
                None,
            )

    def result(self, p: PipeSpec) -> str | None:
        """The pipeline's completed result, None while running."""
        if p.state != "COMPLETED":
            return None
        for r in p.results:
            if r in ("FAILED", "ERROR", "STOPPED"):
                return r
        return "SUCCESSFUL"


ERRORS = (
    (
        "agent-timeout",
        "The build agent did not respond in time. The step was not completed; rerun the pipeline.",
    ),
    ("PLAN_EXCEEDED", "Your workspace has run out of build minutes for this billing period."),
    ("runner-offline", "No runner matching labels [self.hosted, linux] was available for 60 minutes."),
)


@dataclass
class SimContext:
    """World-wide knobs the repository simulations share."""

    anchor: datetime
    start: datetime
    days: int
    commits_per_day: float
    quiet: bool
    all_people: list[str]
    main_cutoff: datetime | None = None
    protected_tests: set[str] = field(default_factory=set)
