"""GitHub REST search/contributors/users and GraphQL `user(login:)` over SandboxData, in GitHub's shapes."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from graphs.sandbox.data import SandboxData

SEARCH_CAP = 1000
DOCS = "https://docs.github.com/rest"


def _error(status: int, message: str) -> tuple[int, dict]:
    return status, {"message": message, "documentation_url": DOCS, "status": str(status)}


# -- search -------------------------------------------------------------------------------------
@dataclass
class SearchQuery:
    keyword_groups: list[list[str]] = field(default_factory=list)  # AND of (OR of words)
    languages: set[str] = field(default_factory=set)              # any of
    topics: set[str] = field(default_factory=set)                 # all of
    stars: tuple[float, float] = (float("-inf"), float("inf"))
    pushed: tuple[str, str] = ("", "9999")


def _range(value: str, *, number: bool) -> tuple:
    low, high = (float("-inf"), float("inf")) if number else ("", "9999")
    convert = (lambda text: float(text)) if number else (lambda text: text)
    if ".." in value:
        a, b = value.split("..", 1)
        return (convert(a) if a not in ("", "*") else low, convert(b) if b not in ("", "*") else high)
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            bound = convert(value[len(op):])
            if number:
                bump = 1 if op == ">" else (-1 if op == "<" else 0)
                bound = bound + bump
            elif op == ">":
                bound = bound + "\uffff"  # after every timestamp of that day
            return (bound, high) if op[0] == ">" else (low, bound)
    exact = convert(value)
    return (exact, exact if number else exact + "\uffff")


def parse_search(q: str) -> SearchQuery:
    """GitHub repository search syntax: keywords (with OR), language:, topic:, stars:, pushed:."""
    query = SearchQuery()
    try:
        tokens = shlex.split(q)
    except ValueError:
        tokens = q.split()
    pending_or = False
    for token in tokens:
        key, sep, value = token.partition(":")
        if sep and key.lower() in ("language", "topic", "stars", "pushed") and value:
            key = key.lower()
            if key == "language":
                query.languages.add(value.lower())
            elif key == "topic":
                query.topics.add(value.lower())
            elif key == "stars":
                query.stars = _range(value, number=True)
            else:
                query.pushed = _range(value, number=False)
            continue
        if sep:  # in:, archived:, fork:, is:, ... accepted and ignored
            continue
        if token == "OR":
            pending_or = True
            continue
        word = token.strip("()").lower()
        if not word:
            continue
        if pending_or and query.keyword_groups:
            query.keyword_groups[-1].append(word)
        else:
            query.keyword_groups.append([word])
        pending_or = False
    return query


def _matches(repo: dict, query: SearchQuery) -> bool:
    if query.languages and (repo["language"] or "").lower() not in query.languages:
        return False
    topics = set(repo["topics"])
    if not query.topics <= topics:
        return False
    low, high = query.stars
    if not low <= repo["stargazers_count"] <= high:
        return False
    start, end = query.pushed
    if not start <= repo["pushed_at"] <= end:
        return False
    haystack = " ".join([repo["name"], repo["description"] or "", *repo["topics"]]).lower()
    return all(any(word in haystack for word in group) for group in query.keyword_groups)


def search_repositories(data: SandboxData, params: dict) -> tuple[int, dict]:
    q = params.get("q", "").strip()
    if not q:
        return 422, {"message": "Validation Failed", "errors": [
            {"resource": "Search", "field": "q", "code": "missing"}], "documentation_url": DOCS}
    per_page = max(1, min(100, int(params.get("per_page", 30) or 30)))
    page = max(1, int(params.get("page", 1) or 1))
    if (page - 1) * per_page >= SEARCH_CAP:
        return _error(422, "Only the first 1000 search results are available")
    query = parse_search(q)
    found = [repo for repo in data.repos if _matches(repo, query)]
    found.sort(key=lambda repo: (-repo["stargazers_count"], repo["full_name"]))
    visible = found[:SEARCH_CAP]
    items = visible[(page - 1) * per_page: page * per_page]
    return 200, {"total_count": len(found), "incomplete_results": False, "items": items}


# -- contributors / users -----------------------------------------------------------------------
def contributors(data: SandboxData, full_name: str, params: dict) -> tuple[int, object]:
    if full_name not in data.contributors:
        return _error(404, "Not Found")
    entries = data.contributors[full_name]
    if not entries:
        return 204, None
    per_page = max(1, min(100, int(params.get("per_page", 30) or 30)))
    page = max(1, int(params.get("page", 1) or 1))
    return 200, entries[(page - 1) * per_page: page * per_page]


def user(data: SandboxData, login: str) -> tuple[int, dict]:
    record = data.user(login)
    return (200, record) if record is not None else _error(404, "Not Found")


# -- GraphQL user(login:) batches ---------------------------------------------------------------
_ALIAS_USER = re.compile(
    r'(?:([A-Za-z_]\w*)\s*:\s*)?user\s*\(\s*login\s*:\s*(?:"((?:[^"\\]|\\.)*)"|\$(\w+))\s*\)\s*\{')
_FRAGMENT = re.compile(r"fragment\s+(\w+)\s+on\s+User\s*\{")
_IDENT = re.compile(r"\.\.\.\s*(\w+)|([A-Za-z_]\w*)")
_UNESCAPE = re.compile(r"\\(.)")

_GRAPHQL_FIELDS = {
    "login": lambda u: u["login"], "name": lambda u: u["name"],
    "company": lambda u: u["company"], "websiteUrl": lambda u: u["blog"] or None,
    "location": lambda u: u["location"], "email": lambda u: u["email"] or "",
    "isHireable": lambda u: bool(u["hireable"]), "bio": lambda u: u["bio"],
    "twitterUsername": lambda u: u["twitter_username"], "createdAt": lambda u: u["created_at"],
    "updatedAt": lambda u: u["updated_at"], "databaseId": lambda u: u["id"],
    "id": lambda u: u["node_id"], "url": lambda u: u["html_url"],
    "repositories": lambda u: {"totalCount": u["public_repos"]},
    "followers": lambda u: {"totalCount": u["followers"]},
    "following": lambda u: {"totalCount": u["following"]},
}


def _block(text: str, open_index: int) -> str:
    """The text inside the braces that open at text[open_index]."""
    depth = 0
    for index in range(open_index, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[open_index + 1:index]
    raise ValueError("unbalanced braces")


def _top_level_fields(selection: str, fragments: dict[str, str], seen: frozenset = frozenset()) -> list[str]:
    names: list[str] = []
    depth = 0
    position = 0
    while position < len(selection):
        char = selection[position]
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif depth == 0:
            match = _IDENT.match(selection, position)
            if match:
                if match.group(1):
                    name = match.group(1)
                    if name in fragments and name not in seen:
                        names += _top_level_fields(fragments[name], fragments, seen | {name})
                elif match.group(2) != "on":
                    names.append(match.group(2))
                position = match.end()
                continue
        position += 1
    return names


def graphql_users(data: SandboxData, query: str, variables: dict | None) -> tuple[int, dict]:
    """Answer `{ u0: user(login: "a") { ...F } ... }`: data per alias, NOT_FOUND errors per miss."""
    variables = variables or {}
    try:
        fragments = {m.group(1): _block(query, m.end() - 1) for m in _FRAGMENT.finditer(query)}
        answers: dict = {}
        errors: list[dict] = []
        # Aliases are looked for outside fragment definitions (which may come before or after).
        fragment_spans = [(m.start(), m.end() + len(fragments[m.group(1)]) + 1)
                          for m in _FRAGMENT.finditer(query)]
        for match in _ALIAS_USER.finditer(query):
            if any(start <= match.start() < end for start, end in fragment_spans):
                continue
            alias = match.group(1) or "user"
            login = (_UNESCAPE.sub(r"\1", match.group(2)) if match.group(2) is not None
                     else str(variables.get(match.group(3), "")))
            fields = _top_level_fields(_block(query, match.end() - 1), fragments)
            unknown = [name for name in fields if name not in _GRAPHQL_FIELDS and name != "__typename"]
            if unknown:
                return 200, {"errors": [{"message": f"Field '{unknown[0]}' doesn't exist on type 'User'",
                                         "extensions": {"code": "undefinedField"}}]}
            status, record = user(data, login)
            if status != 200 or record.get("type") != "User":
                answers[alias] = None
                errors.append({"type": "NOT_FOUND", "path": [alias], "locations": [],
                               "message": f"Could not resolve to a User with the login of '{login}'."})
                continue
            answers[alias] = {name: ("User" if name == "__typename" else _GRAPHQL_FIELDS[name](record))
                              for name in fields}
    except ValueError as exc:
        return 200, {"errors": [{"message": f"Parse error: {exc}"}]}
    if not answers and not errors:
        return 200, {"errors": [{"message": "Sandbox GraphQL only answers user(login:) queries"}]}
    body: dict = {"data": answers}
    if errors:
        body["errors"] = errors
    return 200, body

