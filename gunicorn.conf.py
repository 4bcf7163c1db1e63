"""gunicorn's settings for surveysite, fitted to the machine's cores.

    .venv/bin/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:8000

Command-line options override these (e.g. ``--workers 6``). The app is CPU-bound (bench/surge
profiles: password hashing, page rendering, the ORM), so one process per core plus one keeps
every core busy while another waits on PostgreSQL; a few threads per process let short
requests pass a long one (a login, a save) instead of queueing behind it, at little extra
memory. On the shared 2-core machine, 5 sync workers and 2 processes x 8 threads measured the
same within its noise; ``bench/surge/run.py --server-args '...'`` compares others on a quiet one.
"""

import multiprocessing

wsgi_app = "surveysite.wsgi:application"

_cores = multiprocessing.cpu_count()
workers = _cores + 1
worker_class = "gthread"
threads = 4

# Load Django once in the master and fork: workers start in milliseconds and share the
# imported code's memory; a worker restarted by max_requests is ready at once.
preload_app = True

# Browsers keep their connection open between a reporter's requests (the form page, then the
# save); behind a proxy this is the proxy's connection.
keepalive = 5

# Restart each worker after about this many requests (jittered, so they do not all restart
# together): bounds the growth of any per-process cache or leak over a long deadline week.
max_requests = 2000
max_requests_jitter = 400

# A request taking longer than this is stuck (the slowest, an upload check, runs on Celery).
timeout = 60
graceful_timeout = 30

# Heartbeat files in memory, not on a disk that may stall under load.
worker_tmp_dir = "/dev/shm"

accesslog = None
errorlog = "-"
