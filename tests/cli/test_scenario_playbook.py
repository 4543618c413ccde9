"""The playbook's example incident (``/work/shared/seed``, "Timeline Construction"),
played through the ``klaxon`` command against a real Klaxon on loopback, paging
through a fake Twilio, with the test's clock:

    14:30 - Deployment #5678 to production
    14:35 - Error rate alerts triggered
    14:40 - Incident declared, rollback initiated
    14:45 - Service restored
    15:00 - Root cause identified (missing database index)

The deploy arrives as a change event and the alert from Alertmanager, as they
would; everything a person does is a ``klaxon`` command (the acknowledgement
is ``klaxon reply``, playing alice's phone). The exported post-mortem must
match ``expected/playbook_postmortem.md`` line for line: it is the file the
README's "Running an incident" walks through.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from typer.testing import Result

from app.clock import ManualClock
from tests.cli.conftest import klaxon
from tests.cli.test_incidents import rows
from tests.conftest import ADMIN_TOKEN
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import am_alert, am_payload
from tests.paging import (
    ACCOUNT_SID,
    ALICE,
    AUTH_TOKEN,
    BOB,
    KLAXON_NUMBER,
    PUBLIC_URL,
    Paging,
    open_incident,
    serve_paging,
)

HERE = Path(__file__).parent
RULES = HERE / "playbook" / "rules.yaml"
EXPECTED = HERE / "expected" / "playbook_postmortem.md"
README = HERE.parents[1] / "README.md"
STAKEHOLDER = "+15551230009"


def at(hhmmss: str) -> datetime:
    """That time on the tests' day (2026-11-26), UTC."""
    return datetime.fromisoformat(f"2026-11-26T{hhmmss}+00:00")


def error_rate_alert() -> dict[str, object]:
    alert = am_alert(
        "5a1e5000e0000001",
        alertname="HighErrorRate",
        starts_at="2026-11-26T14:35:00Z",
        severity="warning",
        service="payments",
        annotations={"summary": "Payment error rate above 5%"},
    )
    return am_payload([alert], group_key='{}:{alertname="HighErrorRate"}')


class Commander:
    """Runs ``klaxon`` as the responders would, against ``paging``'s Klaxon."""

    def __init__(self, paging: Paging) -> None:
        self.paging = paging
        self.env = {"KLAXON_URL": paging.url, "KLAXON_TOKEN": ADMIN_TOKEN}

    async def __call__(self, *args: str) -> Result:
        result = await klaxon(*args, env=self.env)
        assert result.exit_code == 0, f"klaxon {' '.join(args)}: {result.output}"
        return result

    async def phone(self, number: str, text: str) -> Result:
        """``klaxon reply``: a reply from ``number``, signed as Twilio signs it."""
        env = {
            "KLAXON_URL": self.paging.url,
            "KLAXON_PUBLIC_URL": PUBLIC_URL,
            "KLAXON_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "KLAXON_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "KLAXON_TWILIO_FROM": KLAXON_NUMBER,
        }
        result = await klaxon("reply", "--from", number, text, env=env)
        assert result.exit_code == 0, result.output
        return result


async def deploy_change_event(paging: Paging) -> None:
    """CI reports the deploy, with an ingest token (as a pipeline would)."""
    made = await paging.api.post("/api/v1/tokens", json={"name": "ci", "scope": "ingest"})
    assert made.status_code == 201, made.text
    sent = await paging.api.post(
        "/api/v1/webhooks/change",
        json={
            "service": "payments",
            "summary": "Deployment #5678 to production",
            "version": "v5678",
            "who": "deploy-bot",
            "when": "2026-11-26T14:30:00Z",
        },
        headers={"Authorization": f"Bearer {made.json()['token']}"},
    )
    assert sent.status_code == 201, sent.text


async def test_the_playbooks_example_through_the_cli_exports_the_expected_postmortem(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path
) -> None:
    clock.set(at("14:30:00"))
    async with serve_paging(db, fake_twilio, clock, config=RULES) as paging:
        klaxon_ = Commander(paging)
        await deploy_change_event(paging)

        # 14:35 the error-rate alert opens the incident and pages alice (primary).
        clock.set(at("14:35:00"))
        number = await open_incident(paging, error_rate_alert())
        assert number == 1  # the expected post-mortem names it
        await paging.tick()
        assert any(f"Reply {number}A" in text for text in paging.texts_to(ALICE))

        # 14:37 alice acknowledges from her phone, and asks what changed.
        clock.set(at("14:37:10"))
        assert (await klaxon_.phone(ALICE, f"{number}A")).stdout == f"#{number} acknowledged\n"
        changes = await klaxon_("incident", "changes", str(number))
        assert "Deployment #5678 to production" in changes.stdout

        # 14:40 she declares a SEV2 with its roles; bob (comms) posts the first update.
        clock.set(at("14:40:00"))
        await klaxon_(
            "incident", "declare", str(number), "--severity", "SEV2",
            "--title", "Payment Service Degraded",
            "--impact", "50% of payment requests failing",
            "--ic", "alice", "--comms", "bob", "--scribe", "carol", "--by", "alice",
        )  # fmt: skip
        await klaxon_(
            "incident", "stakeholders", str(number), "--add", f"vp-payments={STAKEHOLDER}",
            "--opt-in",
        )  # fmt: skip
        clock.set(at("14:40:20"))
        first = await klaxon_(
            "incident", "update", str(number), "investigating",
            "Error rate up since deployment #5678; rolling it back", "--by", "bob",
        )  # fmt: skip
        assert "Status: Investigating" in first.stdout
        await paging.tick()  # the engine sends what the update queued (the stakeholder's SMS)
        shown = await klaxon_("incident", "show", str(number))
        assert "roles:     IC alice, Comms bob, Scribe carol" in shown.stdout
        assert "next update: 2026-11-26 14:42 UTC" in shown.stdout

        # 14:42:30 the next update is overdue: bob, the comms lead, is reminded once.
        bob_before = len(paging.texts_to(BOB))
        clock.set(at("14:42:30"))
        await paging.tick()
        clock.set(at("14:43:00"))
        await paging.tick()
        reminders = paging.texts_to(BOB)[bob_before:]
        assert reminders == [  # as the README quotes it
            "[Klaxon] #1 Payment Service Degraded (SEV 2): a status update was due at 14:42 UTC."
            " Post one now (every 2 min)."
        ]

        # 14:43 the second update; carol (scribe) back-dates the rollback to 14:40:30.
        clock.set(at("14:43:05"))
        await klaxon_(
            "incident", "update", str(number), "monitoring",
            "Deployment #5678 rolled back; error rate back to normal", "--by", "bob",
        )  # fmt: skip
        await paging.tick()
        clock.set(at("14:43:40"))
        await klaxon_(
            "incident", "note", str(number), "Rollback of deployment #5678 initiated",
            "--at", "2026-11-26T14:40:30Z", "--by", "carol",
        )  # fmt: skip

        # 14:45 service restored: the resolved update resolves the incident.
        clock.set(at("14:45:00"))
        await klaxon_(
            "incident", "update", str(number), "resolved", "Service restored", "--by", "bob"
        )
        await paging.tick()
        assert (await paging.api.get(f"/api/v1/incidents/{number}")).json()["status"] == "resolved"

        # 15:00 root cause identified; the post-mortem is written and exported.
        clock.set(at("15:00:00"))
        await klaxon_(
            "incident", "note", str(number),
            "Root cause identified (missing database index)", "--by", "alice",
        )  # fmt: skip
        await klaxon_(
            "incident", "postmortem", str(number),
            "--summary",
            "Payment service degraded due to missing database index after schema migration.",
            "--root-cause",
            "Database query performance degraded after adding new column without index.",
            "--lessons",
            "- Schema migrations need performance testing\n- Missing index detection in CI/CD",
            "--impact-notes", "~$50K revenue impact; 200 affected customers",
        )  # fmt: skip
        for task, owner, due in [
            ("Add index monitoring", "alice", "2026-12-03"),
            ("Update migration checklist", "bob", "2026-12-01"),
        ]:
            await klaxon_(
                "incident", "actions", str(number), "--add", task, "--owner", owner, "--due", due
            )
        listed = await klaxon_("incident", "actions", str(number))
        assert [r[1:4] for r in rows(listed.stdout)[1:]] == [
            ["Add index monitoring", "alice", "2026-12-03"],
            ["Update migration checklist", "bob", "2026-12-01"],
        ]

        exported = tmp_path / "postmortem.md"

        await klaxon_("incident", "postmortem", str(number), "-o", str(exported))
        assert paging.texts_to(STAKEHOLDER), "the opted-in stakeholder got the updates"

    assert exported.read_text() == EXPECTED.read_text()


def test_the_readme_walks_through_the_expected_postmortem() -> None:
    _, section = README.read_text().split("\n## Running an incident\n")
    assert f"```markdown\n{EXPECTED.read_text()}```" in section
