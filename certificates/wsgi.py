"""The WSGI entry point: ``gunicorn certificates.wsgi:app``.

The deployment is ``$QCAMPUS_HOME`` (default ``./var``); under JupyterHub the
hub sets ``JUPYTERHUB_SERVICE_PREFIX`` and ``JUPYTERHUB_API_TOKEN``.
"""

from certificates import create_app

app = create_app()
