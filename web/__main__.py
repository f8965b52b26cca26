"""Run the qcampus web service with gunicorn: ``python -m web [--bind ADDRESS]``."""

from __future__ import annotations

import os
import sys

import click


@click.command()
@click.option("--bind", default=None,
              help="Address to listen on (default 127.0.0.1:$JUPYTERHUB_SERVICE_URL port or 10101).")
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
def main(bind: str | None, workers: int) -> None:
    """Serve the qcampus web service."""
    if bind is None:
        from urllib.parse import urlsplit

        service_url = os.environ.get("JUPYTERHUB_SERVICE_URL", "")
        port = urlsplit(service_url).port if service_url else None
        bind = f"127.0.0.1:{port or 10101}"
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--bind", bind,
                              "--workers", str(workers), "--access-logfile", "-",
                              "web.wsgi:app"])


if __name__ == "__main__":
    main()
