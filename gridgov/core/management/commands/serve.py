"""`gridgov serve`: the production server (gunicorn, gthread workers) and the task consumer.

Static files are served by WhiteNoise from STATIC_ROOT (collected and compressed at start);
unless --no-worker, the huey consumer (`gridgov run_huey`) runs as a child process and is
stopped with the server."""

import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


#: the access log line: address, time, method, path without the query string, status, size, ms
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


def default_workers() -> int:
    return min(4, (os.cpu_count() or 1) + 1)


def _is_demo() -> bool:
    """The database holds the demo street (`gridgov demo`)."""
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError

    from gridgov.core.checks import DEMO_EMAIL_DOMAIN

    User = get_user_model()
    try:
        return User.objects.filter(email__endswith="@" + DEMO_EMAIL_DOMAIN).exists()
    except DatabaseError:  # not migrated yet
        return False


class GridgovServer:
    """A gunicorn application serving gridgov.wsgi:application (built lazily: gunicorn is imported
    only when serving)."""

    def __new__(cls, options: dict):
        from gunicorn.app.base import BaseApplication

        class _App(BaseApplication):
            def __init__(self, options):
                self.options = options
                super().__init__()

            def load_config(self):
                for key, value in self.options.items():
                    if key in self.cfg.settings and value is not None:
                        self.cfg.set(key.lower(), value)

            def load(self):
                from gridgov.wsgi import application

                return application

        return _App(options)


class Command(BaseCommand):
    help = "Serve gridgov with gunicorn (gthread workers, access log on stdout) and run the huey consumer."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("GRIDGOV_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("GRIDGOV_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=None, help=f"worker processes (default {default_workers()})")
        parser.add_argument("--threads", type=int, default=8, help="threads per worker")
        parser.add_argument("--no-worker", action="store_true", help="do not start the huey task consumer")
        parser.add_argument("--no-collectstatic", action="store_true", help="skip collecting static files at start")

    def _warn_keys_beside_database(self):
        """Say at start-up when the keys sit beside the SQLite database (not in the demo)."""
        from gridgov.core.checks import keys_beside_database

        msg = keys_beside_database()
        if msg and not _is_demo():
            self.stderr.write(f"WARNING: {msg} Keep them apart: docs/deployment.md, 'Keys'.")

    def handle(self, *args, host, port, workers, threads, no_worker, no_collectstatic, **opts):
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, got {port}")
        workers = workers or default_workers()
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        self._warn_keys_beside_database()
        if not no_collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
        consumer = None
        if not no_worker:
            consumer = subprocess.Popen([sys.executable, "-m", "gridgov", "run_huey"], env=os.environ.copy())
            self.stderr.write(f"huey consumer started (pid {consumer.pid})")
        options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "accesslog": "-",
            # no query string and no referrer (either can carry a searched ID number or a name)
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": "-",
            "timeout": 60,
            "graceful_timeout": 20,
            "proc_name": "gridgov",
            "forwarded_allow_ips": os.environ.get("GRIDGOV_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        }
        # gunicorn >= 25 opens a control socket, by default one per user: keep it with the data
        ctl = str(settings.DATA_DIR / f"gunicorn-{port}.ctl")
        if len(ctl) < 100:
            options["control_socket"] = ctl
        else:
            options["control_socket_disable"] = True
        self.stderr.write(f"gridgov serving on http://{host}:{port}/ ({workers} workers × {threads} threads, data in {settings.DATA_DIR})")
        try:
            GridgovServer(options).run()
        finally:
            if consumer is not None and consumer.poll() is None:
                consumer.terminate()
                try:
                    consumer.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    consumer.kill()
                    consumer.wait()
