"""gunicorn settings shared by the image, docker-compose, `make bench` and the load script:
`gunicorn -c python:opshub.gunicorn opshub.wsgi …`.

Once a worker has imported the app, everything the import created (Django, the models, the
URL resolver, compiled templates…) is moved out of the garbage collector's reach with
`gc.freeze()`: a full collection then walks only what requests allocate. Without it a full
collection (about every seventy work-list requests) paused a worker ≈55 ms, which was the
p95 of the heavier pages in `make bench` (docs/benchmarks.md).
"""

import gc


def post_worker_init(worker):
    gc.freeze()
