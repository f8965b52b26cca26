"""certificates: issue, render, verify and revoke signed Open Badges 3.0 credentials.

The credential core (credentials, keys, status lists, verification) works without
a web service. :mod:`certificates.web` adds the certificate pages to the qcampus
web service (:mod:`web`): public verification pages and JSON API for employers,
pages for learners and for staff (instructors, examiners) signed in through
JupyterHub.
"""

from __future__ import annotations

#: The secret the exam service presents to issue through the JSON API.
ISSUER_TOKEN_FILE = "certificates-issuer-token"
