"""gunicorn's settings for surveysite, fitted to the machine's cores.

    .venv/bin/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:8000

Command-line options override these (e.g. ``--workers 6``). The app is CPU-bound (bench/surge
profiles: password hashing, page rendering, the ORM) and waits on PostgreSQL between its bursts
of CPU, so two processes per core plus one keep the cores busy while some wait, and a long
request (a PDF, a streamed download) holds one process of five, not one of three. One thread
per process: threads of one process share its interpreter lock, and at saturation on the 2-core
machine 4 threads per process cost 10-15% more CPU per complete return than 1 (bench/surge
stress at 25, 50 and 100 users, 29 Nov 2026: 5.5-6.7 complete returns/s with 3 processes x 4
threads, 6.3-6.9 with 3 x 2, 6.5-7.0 with 5 x 1, 6.5-7.5 with 3 x 1). The gthread worker class
even so, for its keep-alive connections (the sync worker closes each after one request).
"""

import multiprocessing

wsgi_app = "surveysite.wsgi:application"

_cores = multiprocessing.cpu_count()
workers = 2 * _cores + 1
worker_class = "gthread"
threads = 1

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
