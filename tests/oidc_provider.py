"""A small but real OpenID Connect provider on 127.0.0.1, for the sign-in tests.

It serves discovery, JWKS, authorize, token and userinfo over HTTP from a thread, signs
RS256 ID tokens with joserfc, and enforces what a strict provider enforces: a registered
client and redirect URI, the authorization code flow only, PKCE with S256 (the verifier
must match the challenge), single-use codes. Tests set who signs in (`sign_in_as`) and may
spoil the next ID token (`id_token_overrides`, `sign_with_another_key`) to check that opshub
refuses it. `paths` records every request, so a test can see discovery being used.
"""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


class Provider:
    def __init__(self, *, client_id="opshub", client_secret="provider-secret"):
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = set()
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self.claims = {}
        self.id_token_overrides = {}
        self.sign_with_another_key = False
        self.interactive = False  # True: /authorize shows a page with a button, as a browser sees
        self.paths = []
        self.authorize_requests = []
        self.token_requests = []
        self._codes = {}
        self._access_tokens = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def sign_in_as(self, email, **claims):
        self.claims = {"sub": f"sub-{email}", "email": email, "email_verified": True, **claims}

    # --- endpoints ----------------------------------------------------------------------

    def discovery(self):
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        }

    def jwks(self):
        return KeySet([self.key]).as_dict(private=False)

    def authorize_error(self, params):
        """Why an authorization request is refused (shown to the user), or None."""
        if params.get("client_id") != self.client_id:
            return "unknown client"
        if params.get("redirect_uri") not in self.redirect_uris:
            return "redirect_uri not registered"
        if params.get("response_type") != "code":
            return "only the authorization code flow"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "PKCE with S256 is required"
        if "openid" not in params.get("scope", "").split():
            return "scope must include openid"
        return None

    def issue_code(self, params):
        code = secrets.token_urlsafe(24)
        self._codes[code] = {"params": params, "claims": dict(self.claims)}
        query = urlencode({"code": code, "state": params.get("state", "")})
        return f"{params['redirect_uri']}?{query}"

    def token(self, form):
        """(status, body) for a token request."""
        self.token_requests.append(form)
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return 401, {"error": "invalid_client"}
        grant = self._codes.pop(form.get("code", ""), None)  # single use
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant"}
        params = grant["params"]
        if form.get("redirect_uri") != params["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != params["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": params.get("nonce"),
            **grant["claims"],
            **self.id_token_overrides,
        }
        key = RSAKey.generate_key(2048, parameters={"kid": self.key.kid})
        signing_key = key if self.sign_with_another_key else self.key
        header = {"alg": "RS256", "kid": self.key.kid}
        id_token = jwt.encode(header, claims, signing_key)
        access_token = secrets.token_urlsafe(24)
        self._access_tokens[access_token] = grant["claims"]
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def userinfo(self, authorization):
        claims = self._access_tokens.get(authorization.removeprefix("Bearer ").strip())
        return (200, claims) if claims is not None else (401, {"error": "invalid_token"})

    # --- HTTP: each answer is ("json", status, body), ("html", status, text) or
    # ("redirect", url)

    def get(self, path, params, headers):
        if path == "/.well-known/openid-configuration":
            return "json", 200, self.discovery()
        if path == "/jwks":
            return "json", 200, self.jwks()
        if path == "/userinfo":
            return "json", *self.userinfo(headers.get("Authorization", ""))
        if path == "/authorize":
            return self.authorize(params)
        return "json", 404, {"error": "not found"}

    def post(self, path, form):
        if path == "/token":
            return "json", *self.token(form)
        if path == "/authorize" and self.authorize_error(form) is None:
            return "redirect", self.issue_code(form)
        return "json", 400, {"error": "invalid_request"}

    def authorize(self, params):
        self.authorize_requests.append(params)
        if error := self.authorize_error(params):
            return "html", 400, f"<p>Refused: {html.escape(error)}</p>"
        if not self.interactive:
            return "redirect", self.issue_code(params)
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        email = html.escape(self.claims.get("email", ""))
        return (
            "html",
            200,
            f'<h1>Test identity provider</h1><form method="post" action="/authorize">{fields}'
            f"<p>Sign in to opshub as {email}?</p>"
            f'<button type="submit">Continue as {email}</button></form>',
        )


def _handler(provider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self, kind, *rest):
            if kind == "redirect":
                self.send_response(302)
                self.send_header("Location", rest[0])
                data = b""
            else:
                status, body = rest
                self.send_response(status)
                if kind == "json":
                    data = json.dumps(body).encode()
                    self.send_header("Content-Type", "application/json")
                else:
                    data = f"<!doctype html><title>Test provider</title>{body}".encode()
                    self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlsplit(self.path)
            provider.paths.append(url.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._answer(*provider.get(url.path, params, self.headers))

        def do_POST(self):
            url = urlsplit(self.path)
            provider.paths.append(url.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            self._answer(*provider.post(url.path, form))

    return Handler
