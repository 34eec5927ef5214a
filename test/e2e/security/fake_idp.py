"""A tiny fake OpenID Connect identity provider for black-box tests.

It serves, over real HTTP:
  GET  /.well-known/openid-configuration   discovery document (issuer = the base URL)
  GET  /jwks                                the public signing key (RS256, kid "fake-idp-1")
  POST /mint                                {"claims": {...}, "headers": {...}} -> {"token": "..."}
                                            signs any claims with the IdP's private key; iss
                                            defaults to the issuer, iat to now, exp to now+600
  GET  /mint?sub=alice&aud=api&scope=x&ttl=600   the same, for a shell
The private key never leaves the process; the test script asks this server to sign.

Run:  uv run --with pyjwt --with cryptography python fake_idp.py --port 18200
      (--issuer overrides the issuer URL; default http://127.0.0.1:PORT, or https:// with
      --tls-cert and --tls-key, a PEM certificate and its key, as a deployed provider serves)
"""

from __future__ import annotations

import argparse
import base64
import json
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "fake-idp-1"


def b64u(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class IdP:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = self.key.public_key().public_numbers()
        self.jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID, "n": b64u(pub.n), "e": b64u(pub.e)}

    def discovery(self) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/jwks",
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def mint(self, claims: dict[str, object], headers: dict[str, object] | None = None) -> str:
        now = int(time.time())
        body: dict[str, object] = {"iss": self.issuer, "iat": now, "exp": now + 600}
        body.update(claims)
        for k in [k for k, v in body.items() if v is None]:  # null in the request removes a claim
            del body[k]
        hdr: dict[str, object] = {"kid": KID}
        hdr.update(headers or {})
        return jwt.encode(body, self.key, algorithm="RS256", headers=hdr)


def make_handler(idp: IdP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._send(200, idp.discovery())
            elif url.path == "/jwks":
                self._send(200, {"keys": [idp.jwk]})
            elif url.path == "/health":  # for whoever waits for it to start
                self._send(200, {"status": "ok"})
            elif url.path == "/mint":
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                now = int(time.time())
                claims: dict[str, object] = {"sub": q.get("sub", "alice"), "exp": now + int(q.get("ttl", "600"))}
                if "aud" in q:
                    claims["aud"] = q["aud"]
                if "scope" in q:
                    claims["scope"] = q["scope"]
                self._send(200, {"token": idp.mint(claims)})
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:  # noqa: N802
            if urlparse(self.path).path != "/mint":
                self._send(404, {"error": "not_found"})
                return
            n = int(self.headers.get("Content-Length") or 0)
            req = json.loads(self.rfile.read(n) or b"{}")
            self._send(200, {"token": idp.mint(req.get("claims", {}), req.get("headers"))})

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18200)
    ap.add_argument("--issuer", default="")
    ap.add_argument("--tls-cert", default="")
    ap.add_argument("--tls-key", default="")
    args = ap.parse_args()
    scheme = "https" if args.tls_cert else "http"
    idp = IdP(args.issuer or f"{scheme}://{args.host}:{args.port}")
    srv = ThreadingHTTPServer((args.host, args.port), make_handler(idp))
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = context.wrap_socket(srv.socket, server_side=True)
    print(f"fake IdP {idp.issuer} listening", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
