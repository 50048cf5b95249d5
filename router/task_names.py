"""Celery task names: the only link between the router (which enqueues) and the worker.

The router sends by name (``send_task``) so that it never imports the worker package.
"""

CLASSIFY_TASK = "frontdesk.classify"
SWEEP_TASK = "frontdesk.sweep"
DEFAULT_QUEUE = "frontdesk"  # FRONTDESK_QUEUE_NAME overrides it, e.g. one queue per practice
