"""gunicorn's settings for the web (read from the working directory by default, and named
with ``-c gunicorn.conf.py`` by the Dockerfile, docker-compose.yml and .ci/fuzz-pos-api).

- Access log on stdout, one line per request, without the query string: the POS lookup
  carries phones and emails there (``?q=0912...``). The path goes through
  ``loyalty.logs.mask`` (unsubscribe tokens, reset keys, voucher codes), the line carries
  the response's ``X-Request-ID``, and is JSON when ``LOG_FORMAT`` is (the default with
  DEBUG off), like the application's own records. The error log is masked too.
- Prometheus multiprocess mode: every worker writes its metrics under
  ``PROMETHEUS_MULTIPROC_DIR`` (default ``var/prometheus/web``, cleared when gunicorn starts)
  and ``/metrics`` adds them up. A Celery worker needs a directory of its own (README).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from gunicorn.glogging import Logger

_VAR = Path(os.environ.get("LOYALTY_VAR_DIR") or Path(__file__).resolve().parent / "var")
# Before anything imports prometheus_client (loyalty does): it picks multiprocess mode at
# import, and the workers inherit what the master imported. So no loyalty import above.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_VAR / "prometheus" / "web"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

wsgi_app = "loyalty.wsgi:application"
# gunicorn 27's control socket (gunicornc) is not used; one path per user would be shared by
# every gunicorn on the host (several instances, CI's fuzz run and tests).
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# %(U)s is the path without the query string; never %(r)s, %(q)s or the Referer (%(f)s).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms req=%({x-request-id}o)s'


def _debug() -> bool:
    value = (os.environ.get("DJANGO_DEBUG") or "").strip().lower()
    if value:
        return value in {"1", "true", "yes", "on"}
    return not os.environ.get("DJANGO_SECRET_KEY")  # as loyalty.settings decides


def _json() -> bool:
    chosen = (os.environ.get("LOG_FORMAT") or "").strip().lower()
    return chosen == "json" if chosen else not _debug()


class MaskingLogger(Logger):
    """gunicorn's logger with every atom masked and the masking filter on its handlers."""

    def setup(self, cfg):
        super().setup(cfg)
        import logging

        from loyalty.logs import ContextFilter, MaskFilter, json_formatter

        as_json = _json()
        for handler in self.error_log.handlers:
            handler.addFilter(ContextFilter())
            handler.addFilter(MaskFilter())
            if as_json:
                handler.setFormatter(json_formatter())
        for handler in self.access_log.handlers:
            handler.addFilter(MaskFilter())
            handler.setFormatter(logging.Formatter("%(message)s"))

    def atoms(self, resp, req, environ, request_time):
        from loyalty.logs import mask

        atoms = super().atoms(resp, req, environ, request_time)
        path = mask(environ.get("PATH_INFO") or "")
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = "-"
        atoms["f"] = "-"
        return {
            key: mask(value) if isinstance(value, str) and key not in {"U", "r"} else value
            for key, value in atoms.items()
        }

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        if _json():
            line = json.dumps(
                {
                    "time": time.strftime(DATE_FORMAT),  # as loyalty.logs.DATE_FORMAT
                    "level": "INFO",
                    "logger": "gunicorn.access",
                    "remote": atoms["h"],
                    "method": atoms["m"],
                    "path": atoms["U"],
                    "status": atoms["s"],
                    "bytes": atoms["B"],
                    "duration_ms": atoms["M"],
                    "request_id": atoms.get("{x-request-id}o") or "-",
                },
                ensure_ascii=False,
            )
        else:
            line = self.cfg.access_log_format % self.atoms_wrapper_class(atoms)
        try:
            self.access_log.info(line)
        except Exception:
            self.exception("access log line failed")


logger_class = MaskingLogger


def on_starting(server):
    """Values left by the workers of an earlier start would be added to this one's."""
    from loyalty.metrics import clear_multiprocess_dir

    clear_multiprocess_dir()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
