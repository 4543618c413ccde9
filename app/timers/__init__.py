"""What the worker (app/worker.py) needs beside its stages: when each stage is
next due, read in one statement (``due``), and the housekeeping timers that run
beside its loop (``housekeeping``)."""
