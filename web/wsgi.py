"""The WSGI entry point: ``gunicorn web.wsgi:app``.

The deployment is ``$QCAMPUS_HOME`` (default ``./var``); under JupyterHub the
hub sets ``JUPYTERHUB_SERVICE_PREFIX`` and ``JUPYTERHUB_API_TOKEN``.
"""

import gc

from web import create_app

# The served app: its plugins' background work (the exam sweep) runs here.
app = create_app({"BACKGROUND_TASKS": True})
# What exists now (modules, the app, its engine, catalogue and keys) lives as long as
# the worker. Frozen, it is left out of the garbage collector's full passes, which
# would otherwise walk ~140,000 objects (about 70 ms on a small machine) while every
# request in flight on this worker waits.
gc.freeze()
