"""The status page as HTML (Jinja2, autoescaped), and its Atom and RSS feeds.

Everything shown is public text someone published; autoescaping keeps hostile
text inert in the page, and ElementTree escapes it in the feeds. The page asks
for nothing outside this server (its stylesheet is ``/status/style.css``; the
history bars are inline SVG), as its Content-Security-Policy enforces.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.statuspage.cache import Snapshot
from app.statuspage.summary import HISTORY_DAYS, IncidentView, Summary
from app.statuspage.words import LABELS

TEMPLATES = Path(__file__).resolve().parent / "templates"
BASE = "/status"
PAST_INCIDENTS = 10  # resolved incidents on the page; the feeds and JSON have more
ATOM = "http://www.w3.org/2005/Atom"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
STYLESHEET = (TEMPLATES / "status.css").read_bytes()


def page_html(snapshot: Snapshot) -> bytes:
    s = snapshot.summary
    groups = [
        (group, list(members))
        for group, members in itertools.groupby(s.components, key=lambda c: c.group)
    ]
    resolved = [i for i in s.incidents if i.status == "resolved"][:PAST_INCIDENTS]
    html = _env.get_template("status.html").render(
        s=s,
        stale=snapshot.stale,
        groups=groups,
        resolved=resolved,
        labels=LABELS,
        days=HISTORY_DAYS,
        base=BASE,
    )
    return html.encode()


def _link(s: Summary, incident: IncidentView | None = None) -> str:
    root = s.page_url or BASE
    return f"{root}/#incident-{incident.id}" if incident else root


def _text(incident: IncidentView) -> str:
    return "\n\n".join(
        f"{LABELS[u.status]} ({u.created_at:%Y-%m-%d %H:%M} UTC): {u.body}"
        for u in incident.updates
    )


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def atom(snapshot: Snapshot) -> bytes:
    s = snapshot.summary
    feed = ET.Element("feed", xmlns=ATOM)
    ET.SubElement(feed, "id").text = f"tag:klaxon,2026:status:{s.page_id}"
    ET.SubElement(feed, "title").text = f"{s.page_name} - incident history"
    ET.SubElement(feed, "updated").text = _iso(s.updated_at)
    ET.SubElement(feed, "link", href=_link(s), rel="alternate")
    author = ET.SubElement(feed, "author")
    ET.SubElement(author, "name").text = s.page_name
    for incident in s.incidents:
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "id").text = f"tag:klaxon,2026:status:incident:{incident.id}"
        ET.SubElement(entry, "title").text = incident.name
        ET.SubElement(entry, "published").text = _iso(incident.created_at)
        ET.SubElement(entry, "updated").text = _iso(incident.updated_at)
        ET.SubElement(entry, "link", href=_link(s, incident), rel="alternate")
        ET.SubElement(entry, "content", type="text").text = _text(incident)
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def rss(snapshot: Snapshot) -> bytes:
    s = snapshot.summary
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    ET.SubElement(channel, "title").text = f"{s.page_name} - incident history"
    ET.SubElement(channel, "link").text = _link(s)
    ET.SubElement(channel, "description").text = f"Incident history of {s.page_name}"
    ET.SubElement(channel, "lastBuildDate").text = format_datetime(s.updated_at)
    for incident in s.incidents:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = incident.name
        ET.SubElement(item, "link").text = _link(s, incident)
        ET.SubElement(item, "guid", isPermaLink="false").text = f"incident-{incident.id}"
        ET.SubElement(item, "pubDate").text = format_datetime(incident.created_at)
        ET.SubElement(item, "description").text = _text(incident)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
