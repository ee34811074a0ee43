"""Deterministic, realistic GitHub data for the sandbox: repos, people, bots and hostile text.

`SandboxData.generate(seed)` gives the same data for the same seed and the same day (dates are
relative to `graphs.core.clock.now()`, so "pushed in the last 90 days" keeps meaning something).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from graphs.core import clock

# Untrusted text a console must show as data: markup, escape sequences, huge, right-to-left, emoji.
LONG_BIO = ("I maintain test tooling and write about flaky CI. " * 1100)[:51_200]
HOSTILE_STRINGS: list[str] = [
    "[/x]",
    "[@click=app.quit]",
    "[reverse]boom",
    "[bold red]not bold[/bold red]",
    "\x1b[31mred\x1b[0m",
    "\x1b]0;pwned\x07",
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "carriage\roverwrite",
    "c1 \x9b31mcsi\x9b0m and nul \x00 byte",
    LONG_BIO,
    "مرحبا، أنا أطور أدوات الاختبار",
    "שלום, אני כותבת כלי בדיקה",
    "invoice\u202egpj.exe",
    "🚀 shipping 🔥 tests 👩\u200d💻 daily",
]

BOTS = ["dependabot[bot]", "github-actions[bot]", "renovate[bot]", "pre-commit-ci[bot]",
        "allcontributors[bot]", "codecov[bot]"]

_FIRST = ["alex", "sam", "maria", "li", "omar", "fatima", "yuki", "noah", "emma", "lucas", "aisha",
          "david", "sofia", "mateo", "chen", "priya", "ivan", "olga", "kofi", "amara", "lea",
          "jonas", "nora", "ravi", "hana", "diego", "zoe", "tariq", "mei", "erik", "ines", "kai",
          "yael", "ahmed", "sara", "tom", "julia", "pedro", "anya", "felix"]
_LAST = ["smith", "garcia", "kim", "nguyen", "haddad", "cohen", "tanaka", "mueller", "rossi",
         "silva", "okafor", "patel", "ivanova", "larsen", "dubois", "kowalski", "mensah",
         "novak", "santos", "berg", "ali", "wright", "park", "fischer", "moreau"]
_COMPANIES = ["Acme Testing", "@ci-works", "Globex", "Initech", "Flakeless Inc", "@buildkite-ish",
              "Umbrella Labs", "Hooli", "Vandelay Industries", None, None, "Freelance", "@oss-collective"]
_LOCATIONS = ["Berlin", "Lagos", "São Paulo", "Tokyo", "Toronto", "Bangalore", "Paris", "Tel Aviv",
              "Cairo", "Remote", None, "Seattle, WA", "Warsaw"]
_BIOS = ["Python dev, pytest plugin author.", "Building CI pipelines that do not flake.",
         "Open source maintainer. Coffee, tests, rust.", "Frontend engineer; I like fast feedback loops.",
         "DevTools @ somewhere. Opinions my own.", None, None, "Go, k8s, and build systems.",
         "Testing nerd. Property-based everything."]
_OTHER_LANGUAGES = ["python", "javascript", "typescript", "go", "rust", "ruby", "java", "c++",
                    "elixir", "shell"]
_TOPICS = ["ci", "testing", "pytest", "devtools", "cli", "automation", "linting", "web",
           "machine-learning", "database", "async", "docs", "security", "performance", "github-actions"]
_PREFIX = ["swift", "quiet", "flaky", "green", "tiny", "rapid", "lazy", "smart", "open", "deep",
           "test", "ci", "build", "fast", "safe"]
_NOUN = ["runner", "checker", "harness", "lint", "bench", "fixtures", "pipeline", "snap", "mock",
         "probe", "matrix", "cache", "watch", "report", "doctor"]
_DESCRIPTIONS = [
    "A {lang} testing toolkit for {topic} workflows",
    "Fast CI helpers: run only the tests that matter",
    "Devtools for {lang} developers who hate waiting",
    "{topic} utilities with batteries included",
    "Snapshot testing and fixtures for {lang}",
    "Lightweight web framework experiments",
    "Data pipelines and notebooks",
    None,
]


def _iso(value: datetime) -> str:
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class SandboxData:
    seed: int
    generated_at: datetime
    repos: list[dict] = field(default_factory=list)                 # GitHub search items
    users: dict[str, dict] = field(default_factory=dict)            # login -> REST user
    contributors: dict[str, list[dict]] = field(default_factory=dict)  # full_name -> list
    _by_lower: dict[str, dict] = field(default_factory=dict, repr=False, compare=False)

    def user(self, login: str) -> dict | None:
        """A user by login, case-insensitively (as GitHub matches logins)."""
        if len(self._by_lower) != len(self.users):
            self._by_lower = {known.lower(): record for known, record in self.users.items()}
        return self._by_lower.get(login.lower())

    @classmethod
    def generate(cls, seed: int = 7, *, repo_count: int = 50, people_count: int = 300,
                 now: datetime | None = None) -> "SandboxData":
        rng = random.Random(seed)
        anchor = (now or clock.now()).replace(microsecond=0)
        data = cls(seed=seed, generated_at=anchor)
        logins = data._make_people(rng, people_count, anchor)
        data._make_bots(anchor)
        data._make_repos(rng, repo_count, anchor, logins)
        data._make_contributors(rng, logins)
        return data

    # -- people ---------------------------------------------------------------------------------
    def _make_people(self, rng: random.Random, count: int, anchor: datetime) -> list[str]:
        logins: list[str] = []
        for index in range(count):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            login = rng.choice([f"{first}{last}", f"{first}-{last}", f"{first[0]}{last}{index}",
                                f"{first}-dev{index}"])
            while login in self.users:
                login = f"{login}{index}"
            created = anchor - timedelta(days=rng.randint(200, 4000))
            has_email = rng.random() < 0.65
            company = rng.choice(_COMPANIES)
            self.users[login] = {
                "login": login, "id": 100_000 + index, "node_id": f"U_sandbox{index}",
                "type": "User", "site_admin": False,
                "html_url": f"https://github.com/{login}",
                "avatar_url": f"https://avatars.githubusercontent.com/u/{100_000 + index}",
                "name": rng.choice([f"{first.title()} {last.title()}", first.title(), None]),
                "company": company,
                "blog": rng.choice(["", f"https://{login}.example.dev", ""]),
                "location": rng.choice(_LOCATIONS),
                "email": f"{first}.{last}{index}@example.{rng.choice(['com', 'org', 'net'])}"
                if has_email else None,
                "hireable": rng.choice([True, None, None]),
                "bio": rng.choice(_BIOS),
                "twitter_username": rng.choice([None, None, f"{first}_{last}"]),
                "public_repos": rng.randint(1, 150), "public_gists": rng.randint(0, 20),
                "followers": int(rng.paretovariate(1.2) * 5), "following": rng.randint(0, 200),
                "created_at": _iso(created),
                "updated_at": _iso(anchor - timedelta(days=rng.randint(0, 120))),
            }
            logins.append(login)
        # Hostile text: every string lands in a bio, and some in names/companies, of people who
        # contribute to well-fitting repositories (see _make_contributors), so runs meet them.
        fields = ["bio", "name", "company", "location"]
        for index, hostile in enumerate(HOSTILE_STRINGS):
            user = self.users[logins[index]]
            user["bio"] = hostile
            user["email"] = user["email"] or f"hostile{index}@example.com"
            other = self.users[logins[len(HOSTILE_STRINGS) + index]]
            other[fields[index % len(fields)]] = hostile
        return logins

    def _make_bots(self, anchor: datetime) -> None:
        for index, login in enumerate(BOTS):
            self.users[login] = {
                "login": login, "id": 49_000_000 + index, "node_id": f"BOT_sandbox{index}",
                "type": "Bot", "site_admin": False, "html_url": f"https://github.com/apps/{login[:-5]}",
                "avatar_url": "", "name": None, "company": None, "blog": "", "location": None,
                "email": None, "hireable": None, "bio": None, "twitter_username": None,
                "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
                "created_at": _iso(anchor - timedelta(days=2000)), "updated_at": _iso(anchor),
            }

    # -- repositories ---------------------------------------------------------------------------
    def _make_repos(self, rng: random.Random, count: int, anchor: datetime,
                    logins: list[str]) -> None:
        names: set[str] = set()
        for index in range(count):
            # Two in five repos fit the default ICP well (python/javascript, 100..2000 stars,
            # recently pushed, ci/testing/pytest topics); the rest vary freely.
            strong_fit = index % 5 in (0, 2)
            language = (["python", "javascript"][index % 2] if strong_fit
                        else rng.choice(_OTHER_LANGUAGES))
            topics = sorted(set(rng.sample(_TOPICS, rng.randint(0, 4))))
            if strong_fit:
                topics = sorted(set(topics[:2]) | set(rng.sample(["ci", "testing", "pytest"],
                                                                 rng.randint(1, 2))))
            owner_is_org = rng.random() < 0.4
            owner = f"{rng.choice(_PREFIX)}-org{index}" if owner_is_org else rng.choice(logins)
            name = f"{rng.choice(_PREFIX)}-{rng.choice(_NOUN)}"
            while f"{owner}/{name}" in names:
                name = f"{name}{index}"
            full_name = f"{owner}/{name}"
            names.add(full_name)
            # Log-uniform stars 20..20000: most repos small, a few large.
            stars = int(round(10 ** rng.uniform(1.301, 4.301)))
            pushed = anchor - timedelta(days=rng.randint(0, 364), minutes=rng.randint(0, 1439))
            template = rng.choice(_DESCRIPTIONS)
            if strong_fit:
                stars = rng.randint(100, 2000)
                pushed = anchor - timedelta(days=rng.randint(0, 80), minutes=rng.randint(0, 1439))
                template = rng.choice(_DESCRIPTIONS[:5])
            description = template.format(lang=language.title(), topic=(topics or ["ci"])[0]) \
                if template else None
            created = pushed - timedelta(days=rng.randint(30, 3000))
            self.repos.append({
                "id": 700_000 + index, "node_id": f"R_sandbox{index}", "name": name,
                "full_name": full_name, "private": False,
                "owner": {"login": owner, "id": 200_000 + index,
                          "type": "Organization" if owner_is_org else "User"},
                "html_url": f"https://github.com/{full_name}", "description": description,
                "fork": False, "created_at": _iso(created), "updated_at": _iso(pushed),
                "pushed_at": _iso(pushed), "homepage": None, "size": rng.randint(50, 90_000),
                "stargazers_count": stars, "watchers_count": stars,
                "language": language.title() if language not in ("javascript", "typescript", "c++")
                else {"javascript": "JavaScript", "typescript": "TypeScript", "c++": "C++"}[language],
                "forks_count": stars // rng.randint(5, 20), "open_issues_count": rng.randint(0, 120),
                "archived": False, "disabled": False, "license": {"spdx_id": "MIT"},
                "topics": topics, "default_branch": "main", "score": 1.0,
            })
        # A few descriptions carry hostile text too.
        for offset, hostile in enumerate(HOSTILE_STRINGS[:6]):
            if offset * 7 + 3 < len(self.repos):
                self.repos[offset * 7 + 3]["description"] = f"{hostile} testing tools"

    def _make_contributors(self, rng: random.Random, logins: list[str]) -> None:
        hostile_people = logins[: 2 * len(HOSTILE_STRINGS)]
        # A core of regulars contributes to many repos, so people appear in several repos.
        regulars = logins[2 * len(HOSTILE_STRINGS): 2 * len(HOSTILE_STRINGS) + 25]
        fitting = [repo["full_name"] for repo in self.repos
                   if set(repo["topics"]) & {"ci", "testing", "pytest"}]
        for position, repo in enumerate(self.repos):
            full_name = repo["full_name"]
            if position in (5, 17):  # empty repositories answer 204
                self.contributors[full_name] = []
                continue
            size = 150 if position == 0 else rng.randint(3, 40)
            chosen: list[str] = []
            if repo["owner"]["type"] == "User":
                chosen.append(repo["owner"]["login"])
            chosen += rng.sample(regulars, min(len(regulars), rng.randint(0, 4)))
            chosen += rng.sample(logins, min(len(logins), size))
            if full_name in fitting:
                slot = fitting.index(full_name)
                chosen += hostile_people[slot::max(1, len(fitting))]
            bots = rng.sample(BOTS, rng.randint(0, 3)) if rng.random() < 0.6 else []
            seen: set[str] = set()
            people = [x for x in chosen + bots if not (x in seen or seen.add(x))]
            counts = sorted((int(rng.paretovariate(0.9) * 3) for _ in people), reverse=True)
            entries = []
            for login, contributions in zip(people, counts):
                user = self.users[login]
                entries.append({"login": login, "id": user["id"], "node_id": user["node_id"],
                                "type": user["type"], "site_admin": False,
                                "html_url": user["html_url"], "contributions": max(1, contributions)})
            entries.sort(key=lambda entry: (-entry["contributions"], entry["login"]))
            self.contributors[full_name] = entries
        # Everyone reachable: unplaced people join the biggest fitting repo's tail.
        placed = {entry["login"] for entries in self.contributors.values() for entry in entries}
        target = self.contributors[self.repos[0]["full_name"]]
        for login in logins:
            if login not in placed:
                user = self.users[login]
                target.append({"login": login, "id": user["id"], "node_id": user["node_id"],
                               "type": "User", "site_admin": False, "html_url": user["html_url"],
                               "contributions": 1})
