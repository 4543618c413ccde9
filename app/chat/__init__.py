"""ChatOps: Slack's slash commands and buttons in, one card per incident out.

In: ``/incident`` and ``/oncall`` (app/chat/commands.py) and the card's buttons,
each request checked against Slack's signature (app/chat/verify.py) and acted on
as the responder its Slack user is mapped to (app/chat/identity.py), in the
request's own transaction, answered within Slack's 3 seconds.

Out: every message to Slack is a row of the outbound queue (kind ``slack``,
app/notify/outbound.py), written in the transaction that decided it and sent by
the engine after commit (app/chat/slack.py): a chat outage never holds a page
back. The card follows every change of its incident from any channel because
every change is written on the timeline (app/timeline.py's followers,
app/chat/cards.py).
"""
