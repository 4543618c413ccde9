"""``/incident role``, ``/incident publish|public`` and ``/postmortem``: the
incident-response commands, as the roles, status-page and post-mortem APIs do them.

Like app/chat/commands.py, each runs in the request's transaction as the
responder the chat user is mapped to and returns the text to answer; what the
channel sees (the card, the incident channel) follows from the timeline.

Who may do what is the API's rule in chat terms. Any mapped responder may give
a role (the API's ``write`` scope acts on incidents); the status page speaks to
customers, so only the incident's commander or communications lead may publish
or post a public update (the playbook's two people who talk to everyone else).

Grammar (``#n`` may stand anywhere; without it, this channel's incident or the
only open one)::

    /incident role ic|comms|scribe|sme @user [#n]    @user: a Slack mention or a responder name
    /incident role ic|comms|scribe none [#n]         nobody holds it any more
    /incident publish [#n] <public name> | <public text>
    /incident public [#n] <investigating|identified|monitoring|resolved> <public text>
    /postmortem [#n]                                 create the draft, post its link
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import responders_table
from app.response import roles
from app.response.schemas import PHASES
from app.review import postmortem
from app.rules import RulesFile
from app.statuspage import publish
from app.statuspage.schemas import PublicUpdateCreate, PublishIncident
from app.statuspage.words import LABELS

ROLE_WORDS: dict[str, roles.Role | str] = {
    "ic": "commander",
    "commander": "commander",
    "comms": "comms",
    "scribe": "scribe",
    "sme": roles.SME,
}
#: A published incident's own service, when the status page shows it, at the SEV's status.
SEVERITY_COMPONENT = {
    "SEV1": "major_outage",
    "SEV2": "partial_outage",
    "SEV3": "degraded_performance",
    "SEV4": "degraded_performance",
}

_NUMBER = re.compile(r"^#?(\d{1,9})$")
# A Slack mention as slash commands escape it: <@U123> or <@U123|name>.
_MENTION = re.compile(r"^<@([A-Z0-9]{2,32})(?:\|[^>]*)?>$")


def take_number(words: list[str]) -> int | None:
    """Pop the first ``#n`` of ``words``, wherever it stands."""
    for index, word in enumerate(words):
        if word.startswith("#") and (match := _NUMBER.match(word)):
            words.pop(index)
            return int(match.group(1))
    return None


async def _responder_named(session: AsyncSession, word: str) -> str | None:
    """The responder a mention or a name (``@alice``, ``alice``) stands for."""
    r = responders_table.c
    if match := _MENTION.match(word):
        query = select(r.name).where(r.slack_user_id == match.group(1))
    else:
        query = select(r.name).where(r.name == word.removeprefix("@"))
    return (await session.execute(query)).scalar()


async def role(
    session: AsyncSession, number: int, words: list[str], *, by: Any, now: datetime
) -> str:
    usage = "Usage: `/incident role ic|comms|scribe|sme @user [#n]` (or `none` for nobody)."
    if len(words) != 2 or words[0].lower() not in ROLE_WORDS:
        return usage
    which, who = ROLE_WORDS[words[0].lower()], words[1]
    if who.lower() == "none" and which != roles.SME:
        await roles.clear(session, number, cast(roles.Role, which), by=by.name, now=now)
        return f"#{number}: nobody is {words[0].lower()} any more."
    name = await _responder_named(session, who)
    if name is None:
        return f"{who} is not a Klaxon responder (map them with `slack_user_id`). {usage}"
    if which == roles.SME:
        await roles.add_sme(session, number, name, by=by.name, now=now)
    else:
        await roles.assign(session, number, cast(roles.Role, which), name, by=by.name, now=now)
    held = roles.roles_line((await roles.current_roles(session, number)).public())
    return f"#{number} roles: {held}"


async def _may_speak_publicly(session: AsyncSession, number: int, by: Any) -> str | None:
    held = await roles.current_roles(session, number)
    if by.name in (held.commander, held.comms):
        return None
    return (
        f"Only #{number}'s commander or communications lead may speak on the status page"
        f" (commander: {held.commander or 'nobody'}, comms: {held.comms or 'nobody'});"
        " take a role with `/incident role comms @you`."
    )


async def publish_incident(
    session: AsyncSession,
    rules: RulesFile,
    number: int,
    words: list[str],
    *,
    by: Any,
    now: datetime,
    severity: str,
    service: str,
) -> str:
    name, _, text = " ".join(words).partition("|")
    if not name.strip() or not text.strip():
        return "Usage: `/incident publish [#n] <public name> | <public text>`."
    if (refused := await _may_speak_publicly(session, number, by)) is not None:
        return refused
    page = rules.status_page
    components = {}
    if page.component(service) is not None:
        components[service] = SEVERITY_COMPONENT.get(severity, "degraded_performance")
    body = PublishIncident.model_validate(
        {"name": name.strip(), "body": text.strip(), "components": components}
    )
    await publish.publish(session, page, number, body, by=by.name, now=now)
    shown = ", ".join(f"{s} {LABELS[c]}" for s, c in components.items()) or "no component"
    return f"#{number} is on the status page as {body.name!r} ({shown})."


async def public_update(
    session: AsyncSession,
    rules: RulesFile,
    number: int,
    words: list[str],
    *,
    by: Any,
    now: datetime,
) -> str:
    if not words or words[0].lower() not in PHASES or len(words) < 2:
        phases = "|".join(PHASES)
        return f"Usage: `/incident public [#n] <{phases}> <public text>`."
    if (refused := await _may_speak_publicly(session, number, by)) is not None:
        return refused
    status = words[0].lower()
    body = PublicUpdateCreate.model_validate({"status": status, "body": " ".join(words[1:])})
    await publish.add_public_update(session, rules.status_page, number, body, by=by.name, now=now)
    return f"#{number} status page update posted ({LABELS[status]})."


def postmortem_link(base_url: str, number: int) -> str:
    return f"{base_url.rstrip('/')}/api/v1/incidents/{number}/postmortem.md"


async def postmortem_draft(
    session: AsyncSession, number: int, *, by: Any, now: datetime, base_url: str
) -> str:
    """Create the post-mortem (its sections, empty) unless it exists; its link."""
    created = await postmortem.get_sections(session, number) is None
    if created:
        await postmortem.save_sections(session, number, {}, by=by.name, now=now)
    verb = "started" if created else "draft"
    return f"Post-mortem of #{number} ({verb}, Markdown): {postmortem_link(base_url, number)}"
