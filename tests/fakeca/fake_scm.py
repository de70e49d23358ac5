#!/usr/bin/env python3
"""fake_scm.py - a fake Sectigo Certificate Manager (SCM) SSL REST API for tests.

Serves /api/ssl/v1/... (password authentication: the customerUri, login and
password headers must equal --customer-uri, --login and the --password-file
content) and /private/api/ssl/v1/... (certificate authentication: a TLS client
certificate from --client-ca, customerUri and login, and no password header)
over HTTPS; the TLS client certificate is optional at the TLS layer. Any
authentication failure answers 401 {"code":-16,"description":"Unknown user"};
a password header sent to /private is also counted (password_on_private).
Other paths answer 404 {"code":-1}. Errors are JSON {"code","description"}.
Every request is recorded (--stats): method, path, auth, client CN and
whether a password header came.

Endpoints (under either prefix):
  GET  /types                 the certificate types below
  POST /enroll                orgId, certType, term, csr (PEM or bare base64
                              DER), subjAltNames (a string); answers
                              {"sslId","renewId"} with Retry-After: 1. Errors:
                              -1 not an object, -639 orgId, -39 certType,
                              -36 term, -10 CSR, -7 subjAltNames not a string.
  GET  /collect/{id}?format=F (or the legacy /collect/{id}/F); F defaults to
                              base64. x509, pem: leaf + CA; x509CO, pemco:
                              leaf; x509R: CA + leaf; base64: PKCS#7 PEM;
                              else -1450. Unknown id -124, revoked -110.
                              The format is checked before the collect is
                              counted. application/octet-stream, attachment.
  POST /revoke/{id}           {"reasonCode": 0|1|3|4|5 (int or numeric
                              string, optional), "reason": 1..512 chars};
                              204 without body. Errors: -7 reason/reasonCode,
                              -124 unknown (or type 106), -102 not issued,
                              -159 already revoked.
  GET  /{id}                  {"sslId","id","status","serialNumber","term"}

The enrollment's certType picks the behaviour of collect:

  100 issue     issued at the first collect (terms 365, 730)
  101           2 x 400 code 0 "Being processed by Sectigo", then issued
  102           2 x 400 code -183 "Certificate is not collectable."
  103           2 x 404 code -1400 "The request is being processed by Sectigo."
  104           2 x 400 code -109 "Certificate is not available now, ..."
  105           2 x 400 code -195 "CA is not available now. ..."
  106 forget    issued at once, but revoke answers 400 -124 (the CA lost it)
  107 declined  every collect 400 -130 "SSL state is not 'ISSUED': Rejected"
  108 flaky     the first collect 503 code -2 "Internal error.", then issued

All but 100 offer the term 365 only. Not-ready and 503 answers carry
Retry-After: 1. Stats: requests, client_cns (distinct non-empty client CNs),
enrollments (by sslId), collects (count by sslId), revocations (by sslId),
password_on_private, auth_failures. Standard library only; issuance shells
out to `openssl x509 -req` (serials in <stats>.srl).
"""
import argparse
import base64
import binascii
import json
import os
import secrets
import string
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import mtls_server

MAX_BODY = 256 * 1024
PUBLIC = "/api/ssl/v1/"
PRIVATE = "/private/api/ssl/v1/"
FIRST_ID = 1001

UNKNOWN_USER = (-16, "Unknown user")
NOT_READY = {
    101: (400, 0, "Being processed by Sectigo"),
    102: (400, -183, "Certificate is not collectable."),
    103: (404, -1400, "The request is being processed by Sectigo."),
    104: (400, -109, "Certificate is not available now, please try again later."),
    105: (400, -195, "CA is not available now. Please try again later."),
}
TYPES = {
    100: ("issue", "issued at the first collect", [365, 730]),
    101: ("processing", "2 collects: code 0 Being processed", [365]),
    102: ("not-collectable", "2 collects: -183 not collectable", [365]),
    103: ("processing-404", "2 collects: 404 -1400", [365]),
    104: ("not-available", "2 collects: -109 not available", [365]),
    105: ("ca-unavailable", "2 collects: -195 CA not available", [365]),
    106: ("forget", "issued at once, revoke answers -124", [365]),
    107: ("declined", "every collect: -130 Rejected", [365]),
    108: ("flaky", "first collect: 503 -2", [365]),
}
FORMATS = ("x509", "pem", "x509CO", "pemco", "x509R", "base64")
REASON_CODES = (0, 1, 3, 4, 5)

lock = threading.Lock()
state = {"requests": [], "client_cns": [], "enrollments": {}, "collects": {},
         "revocations": {}, "password_on_private": 0, "auth_failures": 0}
args = None
password = None


def save():
    with open(args.stats + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(args.stats + ".tmp", args.stats)


def err(code, desc):
    return {"code": code, "description": desc}


def wrong_id(sid):
    return err(-124, "Wrong SSL certificate id %s." % sid)


def csr_file(csr, d):
    """Writes the CSR (PEM, or bare base64 DER) to d; returns (path, inform)
    or None when it does not decode or does not verify."""
    if "-----BEGIN" in csr:
        path, inform = os.path.join(d, "r.pem"), "PEM"
        data = csr.encode()
    else:
        path, inform = os.path.join(d, "r.der"), "DER"
        try:
            data = base64.b64decode("".join(csr.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
        if not data:
            return None
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run(["openssl", "req", "-verify", "-noout", "-inform", inform,
                          "-in", path], capture_output=True)
    if out.returncode != 0 or b"verify OK" not in out.stdout + out.stderr:
        return None
    return path, inform


def csr_ok(csr):
    with tempfile.TemporaryDirectory() as d:
        return csr_file(csr, d) is not None


def pem_text(s):
    return s if s.endswith("\n") else s + "\n"


def ca_pem():
    return pem_text(open(args.ca_cert).read())


def issue(e):
    with tempfile.TemporaryDirectory() as d:
        path, inform = csr_file(e["csr"], d)
        crt = os.path.join(d, "c.pem")
        subprocess.run(["openssl", "x509", "-req", "-inform", inform, "-in", path,
                        "-CA", args.ca_cert, "-CAkey", args.ca_key, "-CAcreateserial",
                        "-CAserial", args.stats + ".srl", "-days", str(e["term"]),
                        "-out", crt], check=True, capture_output=True)
        e["pem"] = pem_text(open(crt).read())
    out = subprocess.run(["openssl", "x509", "-noout", "-serial"],
                         input=e["pem"].encode(), capture_output=True, check=True)
    e["serial"] = out.stdout.decode().strip().split("=")[-1].lower().lstrip("0") or "0"
    e["status"] = "Issued"


def pkcs7(e):
    with tempfile.TemporaryDirectory() as d:
        leaf = os.path.join(d, "leaf.pem")
        with open(leaf, "w") as f:
            f.write(e["pem"])
        out = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", leaf,
                              "-certfile", args.ca_cert], capture_output=True, check=True)
    return out.stdout.decode()


def colon_serial(s):
    if s is None:
        return None
    s = s.upper()
    if len(s) % 2:
        s = "0" + s
    return ":".join(s[i:i + 2] for i in range(0, len(s), 2))


def view(e):
    return {"sslId": e["sslId"], "id": e["sslId"], "status": e["status"],
            "serialNumber": colon_serial(e["serial"]), "term": e["term"]}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("fake_scm: " + fmt % a + "\n")

    def send(self, code, obj=None, raw=None, ctype="application/json", headers=()):
        if code == 204:
            body = b""
        elif raw is not None:
            body = raw.encode() if isinstance(raw, str) else raw
        else:
            body = json.dumps(obj).encode()
        self.send_response(code)
        if code != 204:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, code, ecode, desc, headers=()):
        return self.send(code, err(ecode, desc), headers=headers)

    # --- request handling -------------------------------------------------

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def read_body(self):
        """Reads the body before any answer, so that a keep-alive connection
        stays in sync; returns None when it cannot be read (the connection is
        then closed after the answer)."""
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            return None
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(n) if n else b""

    def dispatch(self):
        body = self.read_body()
        path, _, query = self.path.partition("?")
        if path.startswith(PUBLIC):
            auth, rest = "password", path[len(PUBLIC):]
        elif path.startswith(PRIVATE):
            auth, rest = "certificate", path[len(PRIVATE):]
        else:
            auth, rest = "none", None
        peer = self.connection.getpeercert() or {}
        cn = ""
        for rdn in peer.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    cn = v
        has_pw = self.headers.get("password") is not None
        with lock:
            state["requests"].append({"method": self.command, "path": self.path,
                                      "auth": auth, "client": cn,
                                      "password_header": has_pw})
            if cn and cn not in state["client_cns"]:
                state["client_cns"].append(cn)
            if auth == "certificate" and has_pw:
                state["password_on_private"] += 1
            save()
        if rest is None:
            return self.error(404, -1, "Unknown error.")
        same = (self.headers.get("customerUri") == args.customer_uri
                and self.headers.get("login") == args.login)
        if auth == "password":
            ok = same and self.headers.get("password") == password
        else:
            ok = same and bool(peer) and not has_pw
        if not ok:
            with lock:
                state["auth_failures"] += 1
                save()
            return self.error(401, *UNKNOWN_USER)
        if body is None:
            return self.error(400, -1, "Invalid request body.")
        parts = rest.split("/")
        q = parse_qs(query, keep_blank_values=True)
        if self.command == "GET":
            if parts == ["types"]:
                return self.types()
            if len(parts) in (2, 3) and parts[0] == "collect":
                if len(parts) == 3:
                    fmt = parts[2]
                elif "format" in q:
                    fmt = q["format"][0]
                else:
                    fmt = "base64"
                return self.collect(parts[1], fmt)
            if len(parts) == 1 and parts[0].isdigit():
                return self.status(parts[0])
        elif self.command == "POST":
            if parts == ["enroll"]:
                return self.enroll(body)
            if len(parts) == 2 and parts[0] == "revoke":
                return self.revoke(parts[1], body)
        return self.error(404, -1, "Unknown error.")

    # --- endpoints --------------------------------------------------------

    def types(self):
        return self.send(200, [
            {"id": i, "name": name, "description": desc, "terms": terms,
             "keyTypes": {"EC": ["P-256"], "RSA": ["2048"]},
             "useSecondaryOrgName": False}
            for i, (name, desc, terms) in sorted(TYPES.items())])

    def enroll(self, body):
        try:
            req = json.loads(body)
        except ValueError:
            req = None
        if not isinstance(req, dict):
            return self.error(400, -1, "Invalid request body.")
        org = req.get("orgId")
        if not (isinstance(org, (int, float)) and not isinstance(org, bool)
                and org == args.org_id):
            return self.error(400, -639, "Supplied orgid invalid..")
        ctype = req.get("certType")
        if not is_int(ctype) or ctype not in TYPES:
            return self.error(400, -39, "The certificate profile id is invalid!")
        term = req.get("term")
        if not is_int(term) or term not in TYPES[ctype][2]:
            return self.error(400, -36, "The validity period (term) is invalid "
                                        "for this certificate profile.")
        csr = req.get("csr")
        if not isinstance(csr, str) or not csr_ok(csr):
            return self.error(400, -10, "Error while decoding CSR.")
        sans = req.get("subjAltNames")
        if "subjAltNames" in req and not isinstance(sans, str):
            return self.error(400, -7, "subjAltNames is invalid")
        with lock:
            sid = FIRST_ID + len(state["enrollments"])
            rid = "".join(secrets.choice(string.ascii_letters + string.digits)
                          for _ in range(20))
            state["enrollments"][str(sid)] = {
                "sslId": sid, "renewId": rid, "certType": ctype, "term": term,
                "csr": csr, "subjAltNames": sans, "comments": req.get("comments"),
                "externalRequester": req.get("externalRequester"), "collects": 0,
                "status": "Applied", "serial": None, "revoked": False}
            save()
        return self.send(200, {"sslId": sid, "renewId": rid},
                         headers=[("Retry-After", "1")])

    def collect(self, sid, fmt):
        retry = [("Retry-After", "1")]
        with lock:
            e = state["enrollments"].get(sid)
            if e is None:
                return self.send(400, wrong_id(sid))
            if e["revoked"]:
                return self.error(400, -110, "Certificate has been revoked and "
                                             "cannot be downloaded.")
            if fmt not in FORMATS:
                return self.error(400, -1450, "Unsupported certificate format "
                                              "specified: %s" % fmt)
            e["collects"] += 1
            n = e["collects"]
            state["collects"][sid] = n
            save()
            t = e["certType"]
            if t in NOT_READY and n <= 2:
                http, code, desc = NOT_READY[t]
                return self.error(http, code, desc, headers=retry)
            if t == 107:
                return self.error(400, -130, "SSL state is not 'ISSUED': Rejected")
            if t == 108 and n == 1:
                return self.error(503, -2, "Internal error.", headers=retry)
            if e["serial"] is None:
                issue(e)
                save()
        if fmt in ("x509", "pem"):
            out = e["pem"] + ca_pem()
        elif fmt in ("x509CO", "pemco"):
            out = e["pem"]
        elif fmt == "x509R":
            out = ca_pem() + e["pem"]
        else:
            out = pkcs7(e)
        return self.send(200, raw=out, ctype="application/octet-stream;charset=UTF-8",
                         headers=[("Content-Disposition",
                                   'attachment; filename="cert.pem"')])

    def revoke(self, sid, body):
        try:
            req = json.loads(body)
        except ValueError:
            req = None
        if not isinstance(req, dict):
            return self.error(400, -1, "Invalid request body.")
        reason = req.get("reason")
        if not isinstance(reason, str) or not reason or len(reason) > 512:
            return self.error(400, -7, "reason is required but missing")
        if "reasonCode" in req:
            rc = req["reasonCode"]
            if isinstance(rc, str) and rc.isdigit():
                rcv = int(rc)
            elif is_int(rc):
                rcv = rc
            else:
                rcv = None
            if rcv not in REASON_CODES:
                return self.error(400, -7, "reasonCode is invalid")
        with lock:
            e = state["enrollments"].get(sid)
            if e is None or e["certType"] == 106:
                return self.send(400, wrong_id(sid))
            if e["revoked"]:
                return self.error(400, -159, "Your certificate already revoked")
            if e["status"] != "Issued":
                return self.error(400, -102, "Only issued certificates could be revoked.")
            e["revoked"] = True
            e["status"] = "Revoked"
            state["revocations"][sid] = {"reasonCode": req.get("reasonCode"),
                                         "reason": reason}
            save()
        return self.send(204)

    def status(self, sid):
        with lock:
            e = state["enrollments"].get(sid)
            if e is None:
                return self.send(400, wrong_id(sid))
            v = view(e)
        return self.send(200, v)


def main():
    global args, password
    p = argparse.ArgumentParser()
    for o in ("cert", "key", "client-ca", "ca-cert", "ca-key", "stats",
              "customer-uri", "login", "password-file"):
        p.add_argument("--" + o, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--org-id", type=int, required=True)
    args = p.parse_args()
    password = open(args.password_file).read()
    if password.endswith("\n"):
        password = password[:-1]
    save()
    mtls_server.serve(Handler, args.port, args.cert, args.key, args.client_ca,
                      client_cert="optional")


if __name__ == "__main__":
    main()
