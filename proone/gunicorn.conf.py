"""gunicorn's production settings for ProOne (docs/deploy.md); environment variables tune them.

GUNICORN_BIND      address to listen on (default 127.0.0.1:8000)
GUNICORN_WORKERS   processes (default: 2 per core, at least 2)
GUNICORN_THREADS   request threads per process (default 8)
"""

import os

wsgi_app = "proone.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Threads, not sync workers: a sync worker is held by one idle or slow client until `timeout`,
# so three idle TCP connections stalled a three-worker server. The gthread worker (gunicorn 27)
# waits at most 5 s in a thread for a new connection's first bytes, then parks it in its poller,
# where idle keep-alive connections wait too; slowly sent requests hold a thread each, so
# threads x workers is the number of them it survives. Facing the internet, put a buffering
# proxy in front (docs/deploy.md).
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", max(2, 2 * (os.cpu_count() or 1))))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
timeout = 30
graceful_timeout = 30
keepalive = 5
# Request line and headers smaller than gunicorn's defaults: the portal needs no more.
limit_request_line = 4094
limit_request_fields = 50

# The access log on stdout; gunicorn's errors on stderr, where Django's LOGGING writes 500s.
accesslog = "-"
errorlog = "-"
loglevel = "info"
# The principal is per transaction, so no state survives between requests on a worker; every
# worker opens its own database connections after the fork (no preload).
preload_app = False
# No runtime control socket: it lives at one fixed path per user (two servers would share it),
# and restarts go through the process manager (HUP to the master) instead.
control_socket_disable = True
