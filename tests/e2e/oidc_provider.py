"""A minimal OpenID Connect provider for the single sign-on browser test, served by a real uvicorn on loopback.

It implements what Streamlit's ``st.login`` (Authlib) uses and checks it as a provider would: discovery, the
authorization endpoint (no login form: it signs in the one person it was given, as a provider with a remembered
session does), the token endpoint (the client's secret, the code issued for that redirect URI, PKCE S256), a
``RS256`` ID token with the request's nonce, and the JWKS to verify it. Only ``cryptography`` (already a dependency
of the app's) signs the tokens, so the provider needs no OAuth library of its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import uvicorn
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

KEY_ID = "test-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


@dataclass
class Person:
    subject: str
    email: str
    name: str


@dataclass
class Provider:
    """The provider's state: its client, the person who signs in, the codes issued and what was asked of it."""

    client_id: str
    client_secret: str
    person: Person
    issuer: str = ""
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537,
                                                                                    key_size=2048))
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    authorizations: int = 0
    tokens_issued: int = 0
    issued_seconds_ago: int = 0  # backdates the ID token's iat: a sign-in the provider made that long ago

    def jwks(self) -> dict[str, object]:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": KEY_ID, "use": "sig", "alg": "RS256",
                          "n": _b64(_int_bytes(numbers.n)), "e": _b64(_int_bytes(numbers.e))}]}

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.person.subject, "aud": self.client_id,
                  "iat": now - self.issued_seconds_ago,
                  "exp": now + 300, "email": self.person.email, "email_verified": True, "name": self.person.name}
        if nonce:
            claims["nonce"] = nonce
        header = {"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse({
                "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "email", "profile"]})

        async def authorize(request: Request) -> Response:
            query = request.query_params
            if query.get("client_id") != self.client_id or query.get("response_type") != "code":
                return PlainTextResponse("unknown client or response type", status_code=400)
            if "openid" not in (query.get("scope") or "").split():
                return PlainTextResponse("not an OpenID Connect request", status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"redirect_uri": query["redirect_uri"], "nonce": query.get("nonce", ""),
                                "challenge": query.get("code_challenge", ""),
                                "method": query.get("code_challenge_method", "")}
            self.authorizations += 1
            back = {"code": code, "state": query.get("state", "")}
            return RedirectResponse(f"{query['redirect_uri']}?{urlencode(back)}", status_code=302)

        async def token(request: Request) -> Response:
            form = await request.form()
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            basic = request.headers.get("authorization", "")
            if basic.lower().startswith("basic "):
                client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
            if (client_id, client_secret) != (self.client_id, self.client_secret):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            issued = self.codes.pop(str(form.get("code")), None)  # a code works once
            if issued is None or form.get("grant_type") != "authorization_code" \
                    or form.get("redirect_uri") != issued["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if issued["challenge"]:
                verifier = str(form.get("code_verifier") or "")
                if issued["method"] != "S256" or _b64(hashlib.sha256(verifier.encode()).digest()) != \
                        issued["challenge"]:
                    return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            self.tokens_issued += 1
            return JSONResponse({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                                 "expires_in": 300, "id_token": self.id_token(issued["nonce"] or None)})

        async def jwks(request: Request) -> Response:
            return JSONResponse(self.jwks())

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/authorize", authorize),
                                 Route("/token", token, methods=["POST"]), Route("/jwks", jwks)])


class RunningProvider:
    """:class:`Provider` served by uvicorn in a thread of the test process, on a free loopback port."""

    def __init__(self, provider: Provider):
        self.provider = provider
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        provider.issuer = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(provider.app(), host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, name="oidc-provider", daemon=True)

    @property
    def metadata_url(self) -> str:
        return f"{self.provider.issuer}/.well-known/openid-configuration"

    def __enter__(self) -> RunningProvider:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the OIDC provider did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
