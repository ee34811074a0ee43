"""Email drafts: stable ids and safe template rendering.

Templates come from the operator's config and are trusted; the values (names, repos, companies)
come from GitHub and are not. `render_template` walks the template once and substitutes values
verbatim, so a `{` in a bio is never parsed as a placeholder, and the template itself may only
name plain placeholders (no `{x.attr}`, `{x[0]}`, conversions or format specs).
"""

from __future__ import annotations

import hashlib
import string
from typing import Any, Mapping

PLACEHOLDERS = ("first_name", "name", "login", "repo", "company", "language", "sender",
                "unsubscribe", "postal_address")


class TemplateError(ValueError):
    pass


def draft_id_for(prospect_id: str, sequence_id: str) -> str:
    """Stable across re-runs: the same prospect in the same sequence has the same draft id."""
    digest = hashlib.sha256(f"{sequence_id}\0{prospect_id}".encode()).hexdigest()[:16]
    return f"d-{digest}"


def check_template(template: str) -> None:
    """Raise TemplateError when the template uses anything but the plain placeholders."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"template syntax: {exc}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise TemplateError(f"unsupported placeholder {{{field}}}; allowed: "
                                + ", ".join("{" + p + "}" for p in PLACEHOLDERS))


def render_template(template: str, values: Mapping[str, Any]) -> str:
    check_template(template)
    out: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if field is not None:
            out.append(str(values.get(field) or ""))
    return "".join(out)


def first_name(lead: Mapping[str, Any]) -> str:
    name = str(lead.get("name") or "").strip()
    return name.split()[0] if name else str(lead.get("login") or "there")


def template_values(lead: Mapping[str, Any], sender: str,
                    compliance: Any = None) -> dict[str, str]:
    repo = str(lead.get("from_repo") or "")
    return {
        "first_name": first_name(lead),
        "name": str(lead.get("name") or lead.get("login") or ""),
        "login": str(lead.get("login") or ""),
        "repo": repo,
        "company": str(lead.get("company") or "").lstrip("@"),
        "language": str(lead.get("language") or "your"),
        "sender": sender,
        # The footer as sent (compliance settings are the operator's, trusted like the template).
        "unsubscribe": str(getattr(compliance, "unsubscribe_text", "") or ""),
        "postal_address": str(getattr(compliance, "postal_address", "") or ""),
    }
