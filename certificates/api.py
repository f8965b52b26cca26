"""The JSON API: verification for anyone, issuance for the exam service.

``POST /api/v1/verify`` takes a credential (VC-JWT, or JSON wrapping one) and
answers the same verdict as the verification page. ``POST /api/v1/credentials``
issues a credential; it needs a bearer token, either the issuer token in the
deployment's secrets (``secrets/certificates-issuer-token``) or a JupyterHub
API token carrying the ``custom:certificates:issue`` scope, and an
``Idempotency-Key`` header: a retried request returns the same response, the
same key with a different payload is refused with 422.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, request

from certificates import ISSUER_TOKEN_FILE, issuance
from certificates.errors import IdempotencyConflict
from certificates.issuance import IssueRequest
from certificates.verify import run_verification
from web.hub import ask_hub, hub_auth
from web.security import checked_text, csrf_exempt, log_field, rate_limited

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: The JupyterHub scope that lets a token issue credentials.
ISSUE_SCOPE = "custom:certificates:issue"


@bp.post("/verify")
@csrf_exempt
@rate_limited("verify")
def verify():
    """Verify the credential in the request body and answer the verdict as JSON."""
    body = request.get_data(cache=False)
    if not body:
        abort(400, "Send the credential (VC-JWT, or JSON with a \"credential\" member) as the "
                   "request body.")
    verdict = run_verification(body)
    return jsonify(verdict.to_json())


def _client() -> str:
    """Return who is calling with the bearer token, or answer 401/403."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        abort(401, "Send the issuer token as 'Authorization: Bearer <token>'.")
    secret_file = Path(current_app.config["SECRETS_DIR"]) / ISSUER_TOKEN_FILE
    if secret_file.is_file():
        expected = secret_file.read_text(encoding="ascii").strip()
        if expected and hmac.compare_digest(hashlib.sha256(token.encode()).digest(),
                                            hashlib.sha256(expected.encode()).digest()):
            return "issuer-token"
    if current_app.extensions.get("qcampus_hub_auth") is not None:
        model = ask_hub(hub_auth().user_for_token, token)
        if model is not None:
            if ISSUE_SCOPE not in set(model.get("scopes") or ()):
                abort(403, f"This token may not issue credentials; it needs the {ISSUE_SCOPE} "
                           f"scope.")
            return f"hub:{model.get('kind', 'user')}:{model['name']}"
    abort(401, "The bearer token is not valid for issuing credentials.")


def _payload() -> IssueRequest:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "The request body must be a JSON object; see /api/v1/openapi.json.")
    unknown = set(data) - set(ISSUE_SCHEMA["properties"])
    if unknown:
        abort(400, f"Unknown member(s) {', '.join(sorted(map(str, unknown)))[:200]}; "
                   f"see /api/v1/openapi.json.")

    def text(name: str, required: bool = True) -> str:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            abort(400, f"'{name}' must be a string.")
        return checked_text(value, name, required=required)

    evidence = data.get("evidence") or []
    if not isinstance(evidence, list) or len(evidence) > 20 or not all(
            isinstance(e, dict) and isinstance(e.get("digest"), str)
            and isinstance(e.get("name"), str) for e in evidence):
        abort(400, "'evidence' must be a list of at most 20 {\"digest\", \"name\"} objects.")
    consent = data.get("consent") or {}
    if not isinstance(consent, dict):
        abort(400, "'consent' must be an object with boolean 'results' and 'evidence'.")
    days = data.get("valid_for_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool)
                             or not 1 <= days <= 36500):
        abort(400, "'valid_for_days' must be a whole number of days from 1 to 36500.")
    result = data.get("result")
    if result is not None and not isinstance(result, str):
        abort(400, "'result' must be a string.")
    display_name = text("display_name", required=False) or None
    return IssueRequest(
        learner=text("learner"), achievement_id=text("achievement"), source=text("source"),
        actor="", reason=text("reason"), display_name=display_name,
        show_name=bool(data.get("show_name")) and display_name is not None,
        evidence=tuple((checked_text(e["digest"], "evidence digest", limit=64),
                        checked_text(e["name"], "evidence name")) for e in evidence),
        result=checked_text(result, "result", required=False) or None,
        consent_results=bool(consent.get("results")),
        consent_evidence=bool(consent.get("evidence")), valid_for_days=days)


@bp.post("/credentials")
@csrf_exempt
@rate_limited("issue")
def issue():
    """Issue a credential for an exam result (idempotent)."""
    client = _client()
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        abort(400, "Send an Idempotency-Key header (at most 200 characters), unique per "
                   "exam result, so a retried request cannot issue twice.")
    payload = _payload()
    payload = IssueRequest(**{**payload.__dict__, "actor": client})
    issuer = issuance.current_issuer()
    try:
        issued = issuance.issue(issuer, payload, idempotency=(client, key))
    except IdempotencyConflict as exc:
        abort(422, exc.format_message())
    current_app.logger.info("credential %s issued for %s by %s (replay: %s)", issued.credential_id,
                            log_field(payload.source), log_field(client), not issued.created)
    body = {"id": issued.credential_id, "serial": issued.serial, "credential": issued.token,
            "verify_url": issuer.verify_url(issued.credential_id)}
    return jsonify(body), issued.status_code


ISSUE_SCHEMA = {
    "type": "object",
    "required": ["learner", "achievement", "source", "reason"],
    "additionalProperties": False,
    "properties": {
        "learner": {"type": "string", "maxLength": 200,
                    "description": "The learner's hub user name; only a salted hash is published."},
        "achievement": {"type": "string", "maxLength": 200,
                        "description": "Achievement id (`qcampus cert achievements`)."},
        "source": {"type": "string", "maxLength": 200,
                   "description": "The exam result certified; one credential per result."},
        "reason": {"type": "string", "maxLength": 200, "description": "Why, for the audit log."},
        "display_name": {"type": "string", "maxLength": 200},
        "show_name": {"type": "boolean",
                      "description": "The learner chose to show display_name on the credential."},
        "evidence": {"type": "array", "maxItems": 20, "items": {
            "type": "object", "required": ["digest", "name"],
            "properties": {"digest": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                           "name": {"type": "string", "maxLength": 200}}}},
        "result": {"type": "string", "maxLength": 200},
        "consent": {"type": "object", "properties": {"results": {"type": "boolean"},
                                                     "evidence": {"type": "boolean"}}},
        "valid_for_days": {"type": "integer", "minimum": 1, "maximum": 36500},
    },
}

VERDICT_SCHEMA = {
    "type": "object",
    "required": ["outcome", "valid", "message", "details"],
    "properties": {
        "outcome": {"type": "string", "enum": ["valid", "revoked", "suspended", "expired",
                                               "not_yet_valid", "tampered", "unknown_key",
                                               "malformed", "status_unknown",
                                               "key_compromised", "not_issued"]},
        "valid": {"type": "boolean", "description": "True only for outcome `valid`."},
        "message": {"type": "object", "properties": {"en": {"type": "string"},
                                                     "ja": {"type": "string"}}},
        "details": {"type": "object"},
    },
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "status"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                   "status": {"type": "integer"}},
}


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


@bp.get("/openapi.json")
def openapi():
    """Describe this API as OpenAPI 3.1."""
    issuer = issuance.current_issuer()
    issued = {"type": "object", "required": ["id", "serial", "credential", "verify_url"],
              "properties": {"id": {"type": "string"}, "serial": {"type": "integer"},
                             "credential": {"type": "string", "description": "The VC-JWT."},
                             "verify_url": {"type": "string", "format": "uri"}}}
    return jsonify({
        "openapi": "3.1.0",
        "info": {"title": f"{issuer.name} certificates", "version": "1",
                 "description": "Verify and issue Open Badges 3.0 credentials secured as "
                                "VC-JWT (EdDSA)."},
        "servers": [{"url": f"{issuer.public_url}/api/v1"}],
        "paths": {
            "/verify": {"post": {
                "summary": "Verify a credential",
                "description": "Never answers `valid` when the status could not be checked.",
                "requestBody": {"required": True, "content": {
                    "application/vc+jwt": {"schema": {"type": "string"}},
                    "text/plain": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "object", "properties": {
                        "credential": {"type": "string"}}}}}},
                "responses": {
                    "200": {"description": "The verdict.", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Verdict"}}}},
                    "400": _error("Empty body."),
                    "413": _error("Body larger than 1 MiB."),
                    "429": _error("Too many requests from this address."),
                }}},
            "/credentials": {"post": {
                "summary": "Issue a credential for an exam result",
                "security": [{"bearer": []}],
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                                "schema": {"type": "string", "maxLength": 200}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/IssueRequest"}}}},
                "responses": {
                    "201": {"description": "Issued.", "content": {"application/json": {
                        "schema": issued}}},
                    "200": {"description": "This exam result was already certified; the "
                                           "existing credential.",
                            "content": {"application/json": {"schema": issued}}},
                    "400": _error("Invalid request."),
                    "401": _error("Missing or wrong bearer token."),
                    "403": _error("The token lacks the issuing scope."),
                    "422": _error("Idempotency-Key or exam result reused with another "
                                  "payload, or unknown achievement."),
                    "429": _error("Too many requests."),
                }}},
        },
        "components": {
            "schemas": {"IssueRequest": ISSUE_SCHEMA, "Verdict": VERDICT_SCHEMA,
                        "Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
