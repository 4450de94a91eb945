"""The scheduler adapter: the core's periodic ticks on APScheduler 3.

A :class:`Worker` runs two interval jobs on an ``AsyncIOScheduler``, each calling one
tick of the core: ``afisha.reminders.send_due()`` (claim due reminders; each writes an
in-app notification and an outbox email) and ``afisha.mail.deliver_due()`` (send the
outbox through the :class:`~afisha_core.ports.Mailer`). :func:`run_forever` is what the
``afisha worker`` command runs: a worker until SIGINT or SIGTERM, then a graceful
shutdown. ``afisha serve`` starts a :class:`Worker` in its lifespan instead::

    worker = Worker(afisha, timedelta(seconds=30))  # AFISHA_SCHEDULER_INTERVAL
    worker.start()
    ...
    await worker.shutdown()

Any number of workers may run at once against one database; the claims that keep a
reminder or an email from being taken twice are made in the database, not here.
"""

from afisha_apscheduler._run import STOP_SIGNALS, run_forever
from afisha_apscheduler._worker import DEFAULT_INTERVAL, DEFAULT_SHUTDOWN_TIMEOUT, Worker

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "STOP_SIGNALS",
    "Worker",
    "run_forever",
]
