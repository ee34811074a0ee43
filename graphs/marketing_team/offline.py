"""The offline marketing model: deterministic answers built from the prompt and tool results.

It is a `TemplateChat` responder, so the graph calls it exactly like a real model: the Supervisor
gets JSON, workers get tool calls (OpenAI-normalised) and then a plain-text report built from
the store's records that came back through those tool calls.
"""

from __future__ import annotations

import json
from typing import Any

from graphs.clients.llm import ChatResult, TemplateChat
from graphs.marketing_team.prompts import read_prompt
from graphs.marketing_team.state import SUPERVISOR, fallback_route

OFFLINE_LABEL = "template (offline)"


def make_offline_model() -> TemplateChat:
    return TemplateChat(marketing_responder, name=OFFLINE_LABEL)


def _current_turn(messages: list[dict]) -> list[list[dict]]:
    """Results of this turn's tool rounds: one list of parsed tool outputs per assistant call."""
    start = len(messages)
    while start > 0 and (messages[start - 1].get("role") == "tool"
                         or messages[start - 1].get("tool_calls")):
        start -= 1
    rounds: list[list[dict]] = []
    for message in messages[start:]:
        if message.get("tool_calls"):
            rounds.append([])
        elif message.get("role") == "tool" and rounds:
            try:
                rounds[-1].append(json.loads(message.get("content") or "{}"))
            except ValueError:
                rounds[-1].append({"ok": False, "error": "truncated"})
    return rounds


def _goal(messages: list[dict]) -> str:
    for message in messages[1:]:
        content = str(message.get("content") or "")
        if message.get("role") == "user" and not content.startswith("["):
            return content.strip()
    return "grow adoption"


def _report_of(messages: list[dict], agent: str) -> str:
    prefix = f"[{agent}] "
    for message in reversed(messages):
        content = str(message.get("content") or "")
        if message.get("role") == "user" and content.startswith(prefix):
            return content[len(prefix):]
    return ""


def _records(rounds: list[list[dict]]) -> list[dict]:
    out = []
    for outcomes in rounds:
        for outcome in outcomes:
            result = outcome.get("result") if isinstance(outcome, dict) else None
            if isinstance(result, list):
                out.extend(r for r in result if isinstance(r, dict))
            elif isinstance(result, dict):
                out.append(result)
    return out


def _call(index: int, name: str, **args: Any) -> dict:
    return {"id": f"call_{name}_{index}", "name": name, "args": args}


def _line(text: str, label: str) -> str:
    for line in text.splitlines():
        if line.startswith(label + ":"):
            return line[len(label) + 1:].strip()
    return ""


def marketing_responder(messages: list[dict], json_mode: bool,
                        tools: list[dict] | None) -> ChatResult:
    role, status = read_prompt(str(messages[0].get("content") or "")) if messages else ("", {})
    if role == SUPERVISOR or json_mode:
        completed = [str(a) for a in status.get("completed_agents") or []]
        choice = fallback_route(completed)
        reason = ("every worker has reported" if choice == "FINISH"
                  else f"{choice} has not reported on this goal yet")
        return ChatResult(json.dumps({"next": choice, "reason": reason}))
    rounds = _current_turn(messages)
    step = len(rounds)
    can_call = bool(tools)
    planner = _PLANS.get(role)
    if planner is None:
        return ChatResult(f"{role or 'agent'}: nothing to do offline.")
    calls, report = planner(step, rounds, status, messages)
    if calls and can_call:
        return ChatResult("", tool_calls=[_call(step * 10 + i, name, **args)
                                          for i, (name, args) in enumerate(calls)])
    return ChatResult(report)


def _researcher(step, rounds, status, messages):
    records = _records(rounds)
    audiences = [r for r in records if r.get("collectionName") == "audiences"]
    competitors = [r for r in records if r.get("collectionName") == "competitors"]
    summary = ("Audiences: " + "; ".join(f"{a.get('segment')} ({', '.join(a.get('pains') or [])})"
                                         for a in audiences)
               + ". Competitors: " + "; ".join(f"{c.get('name')} - {c.get('positioning')}, weak on "
                                               f"{', '.join(c.get('weaknesses') or [])}"
                                               for c in competitors) + ".")
    if step == 0:
        return [("list_records", {"collection": "audiences"}),
                ("list_records", {"collection": "competitors"})], ""
    if step == 1:
        return [("create_record", {"collection": "research_notes", "data": {
            "campaign": status.get("campaign_id") or "", "kind": "audience+competitors",
            "summary": summary}})], ""
    saved = next((r.get("id") for r in records if r.get("collectionName") == "research_notes"), None)
    return [], f"Research notes{' ' + saved if saved else ''} (offline template). {summary}"


def _strategist(step, rounds, status, messages):
    if step == 0:
        return [("list_records", {"collection": "research_notes"})], ""
    brand = status.get("brand_identity") or {}
    notes = [r for r in _records(rounds) if r.get("collectionName") == "research_notes"]
    pains = "slow CI" if not notes else notes[-1].get("summary", "")[:160]
    name = brand.get("name", "the brand")
    positioning = (f"{name}: {brand.get('tagline', 'fast feedback')} - "
                   f"{brand.get('product', 'a developer tool')}")
    messages_ = [f"{value[:1].upper()}{value[1:]}" for value in brand.get("values") or []][:3]
    return [], (f"Positioning: {positioning}\nMessages: {'; '.join(messages_) or 'save developer time'}"
                f"\nGrounded in (offline template): {pains}")


def _campaign_manager(step, rounds, status, messages):
    strategy = _report_of(messages, "Strategist")
    positioning = _line(strategy, "Positioning") or "fast feedback for every pull request"
    key_messages = [m.strip() for m in _line(strategy, "Messages").split(";") if m.strip()]
    if step == 0:
        data = {"positioning": positioning, "messaging": key_messages, "status": "active"}
        if status.get("campaign_id"):
            return [("update_record", {"collection": "campaigns", "id": status["campaign_id"],
                                       "data": data})], ""
        goal = _goal(messages)
        return [("create_record", {"collection": "campaigns", "data": {
            **data, "name": f"Campaign: {goal[:60]}", "goal": goal, "status": "draft",
            "channels": ["email", "social"]}})], ""
    campaign = next((r for r in _records(rounds) if r.get("collectionName") == "campaigns"), {})
    return [], (f"Campaign {campaign.get('id', '?')} saved with status {campaign.get('status', '?')} "
                f"(offline template). Positioning: {positioning}")


def _content_creator(step, rounds, status, messages):
    campaign_id = status.get("campaign_id") or ""
    brand = status.get("brand_identity") or {}
    name = brand.get("name", "our team")
    if step == 0 and campaign_id:
        email = {"campaign": campaign_id, "channel": "email", "approval_status": "pending",
                 "subject": "{first_name}, " + brand.get("tagline", "faster feedback").lower(),
                 "body": ("Hi {first_name},\n\nI saw {repo}. " + name + " is "
                          + brand.get("product", "a developer tool") + ", so {language} "
                          "pull requests get feedback in minutes.\n\nWorth a look?\n\n{sender}\n")}
        post = {"campaign": campaign_id, "channel": "post", "approval_status": "pending",
                "body": f"{brand.get('tagline', 'Fast feedback')}. {name}: "
                        f"{brand.get('product', '')}."}
        return [("create_record", {"collection": "content", "data": email}),
                ("create_record", {"collection": "content", "data": post})], ""
    saved = [r for r in _records(rounds) if r.get("collectionName") == "content"]
    if not saved:
        return [], "No campaign to write for yet (offline template): CampaignManager first."
    ids = ", ".join(f"{r.get('channel')} {r.get('id')}" for r in saved)
    return [], f"Drafted {ids} for campaign {campaign_id}, pending approval (offline template)."


_PLANS = {"Researcher": _researcher, "Strategist": _strategist,
          "CampaignManager": _campaign_manager, "ContentCreator": _content_creator}
