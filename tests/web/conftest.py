"""Fixtures of the web service tests: those of tests/certificates/conftest.py, on whose
deployment the service runs with every installed plugin's pages (the certificates' among them).

- ``database_url`` / ``deployment``: a deployment prepared by the certificates init hook.
- ``catalogue`` / ``service_issuer`` / ``issue_credential``: issue credentials on that deployment.
- ``deployment_store``: the deployment's own rate-limit store, running.
- ``local_user``: a throwaway unprivileged system user.
- ``hub``: a stand-in for JupyterHub's ``HubOAuth``.
- ``app`` / ``client`` / ``staff_client`` / ``learner_client``: the service and its test clients.
"""

from tests.certificates.conftest import (  # noqa: F401  (fixtures)
    app,
    catalogue,
    client,
    database_url,
    deployment,
    deployment_store,
    hub,
    issue_credential,
    learner_client,
    local_user,
    service_issuer,
    staff_client,
)
