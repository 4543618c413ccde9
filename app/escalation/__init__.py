"""Escalation: policies (the model in ``policy``, stored by ``store``, served by
``endpoints``), starting and stopping an incident's paging (``paging``) and
firing its due steps (``steps``). The worker (app/worker.py) runs the steps as
one of its stages; what a page says is app/notify's."""
