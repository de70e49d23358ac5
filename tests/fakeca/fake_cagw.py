#!/usr/bin/env python3
"""fake_cagw.py - a fake Entrust CA Gateway (CAGW API v1) for tests.

Serves /cagw/v1/certificate-authorities/... over HTTPS, demands a client
certificate from the test CA, and records which client certificate each
request used (--stats). The enrollment's profileId picks the behaviour:

  issue        200, issued at once (chain included)
  pending-N    201 pending; issued on the N-th poll of GET .../enrollments/{id}
               (pending answers carry Retry-After: 1 to keep tests short)
  reject       400 ErrorResponse (cagw-4001 "Profile does not allow ...")
  denied       201 pending, then the poll answers status REJECTED
  ratelimit    429 with Retry-After: 1 on the first POST, then issue
  flaky-N      503 on the first N POSTs, then issue
  malformed    200 with a body that is not JSON (then issue when polled: no)
  huge         200 with a 10 MiB body
  slow         answers after --slow-seconds (longer than the agent's timeout)
  short-N      200, issued at once, valid for N seconds only (renewal tests)
  reset        the connection closed (RST) after the request is read
  truncated    Content-Length 1000, 10 bytes sent, then the connection closed
  trickle      a byte a second, for longer than the agent's timeout
  redirect     302 to another host (followed by nobody)
  http10       an HTTP/1.0 answer without Content-Length, ended by closing
  badchunk     chunked encoding with an invalid chunk size
  nochain      200, issued, but without enrollment.chain (as some CAs behind
               the gateway answer): the chain is at GET .../{caId}
  nochain-wrongca  the same, and the CA resource then offers a certificate
               that did not issue it (the server's own)

GET .../{caId} answers the CA; with $fields=ca.certificate,ca.chain (as
%24fields) it carries the issuing certificate, and the fetches are counted
(ca_fetches). An unknown caId answers 404 with cagw-4018. Revocation:
POST .../certificates/{serial}/actions, RevokeAction; repeating it is
COMPLETED again when succeedIfAlreadyInRequestedState is true, else 400.
Standard library only; issuance shells out to `openssl x509 -req`.

For benchmarks: without --stats nothing is recorded (the stats file is
rewritten on every request, which thousands of orders cannot afford);
--pending-retry-after 0 leaves Retry-After out of pending answers, so
the agent polls on its own schedule; --fast-issue signs in-process with
the `cryptography` package when it is installed (about a millisecond
instead of two openssl processes), else says so and shells out.
"""
import argparse
import base64
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler

import mtls_server

MAX_BODY = 256 * 1024
PREFIX = "/cagw/v1/certificate-authorities/"

lock = threading.Lock()
lock_serial = threading.Lock()
state = {"posts": 0, "enrollments": {}, "by_profile": {}, "requests": [],
         "revocations": {}, "client_cns": [], "ca_fetches": 0, "last_profile": ""}
args = None
counters = {}


# The request log only grows: each entry is encoded once, here, so a save
# under a hundred orders polled every second does not encode thousands of
# entries each time (it did, 14 ms a save, and the gateway fell 10 s
# behind under ASan).
requests_json = []


def save():
    if not args.stats:
        return
    reqs = state["requests"]
    for r in reqs[len(requests_json):]:
        requests_json.append(json.dumps(r))
    rest = json.dumps({k: v for k, v in state.items() if k != "requests"})
    with open(args.stats + ".tmp", "w") as f:
        f.write(rest[:-1] + (", " if len(rest) > 2 else "") +
                '"requests": [' + ", ".join(requests_json) + "]}")
    os.replace(args.stats + ".tmp", args.stats)


def issue_short(d, csr_der, seconds):
    """`openssl x509 -req` takes whole days only; `openssl ca` takes dates."""
    csr = os.path.join(d, "r.pem")
    subprocess.run(["openssl", "req", "-inform", "DER", "-out", csr],
                   input=csr_der, check=True, capture_output=True)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\n"
                "new_certs_dir = %s\nserial = %s\ndefault_md = sha256\n"
                "policy = p\nunique_subject = no\n[p]\ncommonName = supplied\n"
                % (d, d, args.stats + ".srl"))
    if not os.path.exists(args.stats + ".srl"):
        with open(args.stats + ".srl", "w") as f:
            f.write("1000\n")
    fmt = "%Y%m%d%H%M%SZ"
    now = time.time()
    crt = os.path.join(d, "c.pem")
    subprocess.run(["openssl", "ca", "-batch", "-config", os.path.join(d, "ca.cnf"),
                    "-in", csr, "-cert", args.ca_cert, "-keyfile", args.ca_key,
                    "-startdate", time.strftime(fmt, time.gmtime(now - 1)),
                    "-enddate", time.strftime(fmt, time.gmtime(now + seconds)),
                    "-notext", "-out", crt], check=True, capture_output=True)
    return ssl.PEM_cert_to_DER_cert(open(crt).read())


fast = None   # (x509 module, hashes, CA certificate, CA key) with --fast-issue


def load_fast():
    global fast
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
    except ImportError:
        sys.stderr.write("fake_cagw: --fast-issue: no cryptography package, "
                         "issuing with openssl\n")
        return
    ca = x509.load_pem_x509_certificate(open(args.ca_cert, "rb").read())
    key = serialization.load_pem_private_key(open(args.ca_key, "rb").read(), None)
    fast = (x509, hashes, ca, key)


def issue_fast(e):
    import datetime
    x509, hashes, ca, key = fast
    csr = x509.load_der_x509_csr(base64.b64decode(e["csr"]))
    now = datetime.datetime.now(datetime.timezone.utc)
    with lock_serial:
        state["serial"] = state.get("serial", 0x100000) + 1
        serial = state["serial"]
    crt = (x509.CertificateBuilder().subject_name(csr.subject)
           .issuer_name(ca.subject).public_key(csr.public_key())
           .serial_number(serial).not_valid_before(now - datetime.timedelta(seconds=60))
           .not_valid_after(now + datetime.timedelta(days=30))
           .sign(key, hashes.SHA256()))
    from cryptography.hazmat.primitives.serialization import Encoding
    e["body"] = base64.b64encode(crt.public_bytes(Encoding.DER)).decode()
    e["chain"] = [{"certificateData": der_b64(args.ca_cert)}]
    e["status"] = "ISSUED"
    e["serialNumber"] = "%x" % serial


def issue(e):
    if fast is not None and not e["profile"].startswith("short-"):
        return issue_fast(e)
    with tempfile.TemporaryDirectory() as d:
        csr = os.path.join(d, "r.der")
        crt = os.path.join(d, "c.der")
        with open(csr, "wb") as f:
            f.write(base64.b64decode(e["csr"]))
        m = re.fullmatch(r"short-(\d+)", e["profile"])
        if m:
            der = issue_short(d, base64.b64decode(e["csr"]), int(m.group(1)))
        else:
            subprocess.run(["openssl", "x509", "-req", "-inform", "DER", "-in", csr,
                            "-CA", args.ca_cert, "-CAkey", args.ca_key, "-CAcreateserial",
                            "-CAserial", args.stats + ".srl", "-days", "30",
                            "-outform", "DER", "-out", crt], check=True,
                           capture_output=True)
            der = open(crt, "rb").read()
        e["body"] = base64.b64encode(der).decode()
    pem = open(args.ca_cert).read()
    der = base64.b64encode(ssl.PEM_cert_to_DER_cert(pem)).decode()
    e["chain"] = [{"certificateData": der}]
    e["status"] = "ISSUED"
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"],
                         input=base64.b64decode(e["body"]), capture_output=True)
    e["serialNumber"] = out.stdout.decode().strip().split("=")[-1].lower()


def pending_headers():
    if args.pending_retry_after > 0:
        return [("Retry-After", str(args.pending_retry_after))]
    return []


def der_b64(pem_file):
    return base64.b64encode(ssl.PEM_cert_to_DER_cert(open(pem_file).read())).decode()


def view(e):
    v = {"id": e["id"], "status": e["status"]}
    if e["status"] == "ISSUED":
        v.update(body=e["body"], serialNumber=e["serialNumber"])
        if not e["profile"].startswith("nochain"):
            v["chain"] = e["chain"]
    return {"type": "EnrollmentResponse", "enrollment": v}


def error(code, msg):
    return {"type": "ErrorResponse", "error": {"code": code, "message": msg}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("fake_cagw: " + fmt % a + "\n")

    def send(self, code, obj=None, raw=None, headers=()):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def record(self):
        if not args.stats:
            return
        cn = ""
        peer = self.connection.getpeercert()
        for rdn in peer.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    cn = v
        with lock:
            state["requests"].append({"method": self.command, "path": self.path,
                                      "client": cn,
                                      "client_serial": peer.get("serialNumber", "").lower()})
            if cn not in state["client_cns"]:
                state["client_cns"].append(cn)
            save()

    def route(self):
        if not self.path.startswith(PREFIX):
            return None, None
        rest = self.path[len(PREFIX):].split("?")[0].split("/")
        ca = rest[0]
        if ca != args.ca_id:
            self.send(404, error("cagw-4018", "CA with specified name not found"))
            return None, None
        return ca, rest[1:]

    def do_GET(self):
        self.record()
        ca, rest = self.route()
        if ca is None:
            return
        if rest == []:
            ca_obj = {"id": ca, "name": "fake"}
            query = self.path.split("?", 1)[1] if "?" in self.path else ""
            if query == "%24fields=ca.certificate,ca.chain":
                with lock:
                    state["ca_fetches"] += 1
                    wrong = state["last_profile"] == "nochain-wrongca"
                    save()
                cert = der_b64(args.cert if wrong else args.ca_cert)
                # The CA certificate listed in the chain too: not repeated.
                ca_obj.update(certificate={"certificateData": cert},
                              chain=[{"certificateData": cert}])
            return self.send(200, {"type": "CAResponse", "ca": ca_obj})
        if rest == ["profiles"]:
            return self.send(200, {"type": "ProfilesResponse", "profiles": [
                {"id": p} for p in ("issue", "pending-2", "reject", "denied",
                                    "ratelimit", "flaky-2", "malformed", "huge", "slow",
                                    "nochain", "nochain-wrongca", "reset", "truncated",
                                    "trickle", "redirect", "http10", "badchunk")]})
        if len(rest) == 2 and rest[0] == "enrollments":
            with lock:
                e = state["enrollments"].get(rest[1])
                if e is None:
                    return self.send(404, error("cagw-4040", "no such enrollment"))
                e["polls"] += 1
                e.setdefault("times", []).append(time.time())
                if e["status"] == "PENDING" and e["profile"] == "denied":
                    e["status"] = "REJECTED"
                elif e["status"] == "PENDING" and e["polls"] >= e["issue_after"]:
                    issue(e)
                save()
                if e["status"] == "PENDING":
                    return self.send(200, view(e), headers=pending_headers())
                return self.send(200, view(e))
        return self.send(404, error("cagw-4004", "not found"))

    def do_POST(self):
        self.record()
        # The body first: the connection may carry the next request.
        n = int(self.headers.get("Content-Length", "0"))
        if n <= 0 or n > MAX_BODY:
            self.close_connection = True
            return self.send(400, error("cagw-4000", "bad length"))
        raw = self.rfile.read(n)
        ca, rest = self.route()
        if ca is None:
            return
        try:
            req = json.loads(raw)
        except ValueError:
            return self.send(400, error("cagw-4000", "malformed JSON"))
        if rest == ["enrollments"]:
            return self.enroll(req)
        if len(rest) == 3 and rest[0] == "certificates" and rest[2] == "actions":
            return self.action(rest[1].lower().lstrip("0"), req)
        return self.send(404, error("cagw-4004", "not found"))

    def enroll(self, req):
        prof = req.get("profileId", "")
        if req.get("requiredFormat", {}).get("format") != "X509" or "csr" not in req:
            return self.send(400, error("cagw-4000", "requiredFormat X509 and csr needed"))
        with lock:
            counters[prof] = counters.get(prof, 0) + 1
            seen = counters[prof]
            state["by_profile"][prof] = seen
            state["last_profile"] = prof
        m = re.fullmatch(r"flaky-(\d+)", prof)
        if prof == "ratelimit" and seen == 1:
            return self.send(429, error("cagw-4290", "slow down"), headers=[("Retry-After", "1")])
        if m and seen <= int(m.group(1)):
            return self.send(503, error("cagw-5030", "unavailable"),
                             headers=[("Retry-After", "1")])
        if prof == "reject":
            return self.send(400, error("cagw-4001", "Profile does not allow this request"))
        if prof == "malformed":
            return self.send(200, raw=b"<html>not json")
        if prof in ("reset", "truncated", "trickle", "redirect", "http10", "badchunk"):
            return self.misbehave(prof)
        if prof == "huge":
            return self.send(200, raw=b"{\"pad\":\"" + b"A" * (10 << 20) + b"\"}")
        if prof == "slow":
            time.sleep(args.slow_seconds)
        with lock:
            state["posts"] += 1
            eid = "enr-%d" % state["posts"]
            m = re.fullmatch(r"pending-(\d+)", prof)
            e = {"id": eid, "profile": prof, "csr": req["csr"], "status": "PENDING",
                 "polls": 0, "issue_after": int(m.group(1)) if m else 0,
                 "times": [time.time()],   # the POST, then each poll
                 "sans": req.get("subjectAltNames", []),
                 "validity": (req.get("optionalCertificateRequestDetails") or
                              {}).get("validityPeriod")}
            state["enrollments"][eid] = e
            if not m and prof != "denied":
                issue(e)
            save()
            if e["status"] == "ISSUED":
                return self.send(200, view(e))
            return self.send(201, view(e), headers=pending_headers())

    def misbehave(self, prof):
        """Answers no HTTP client should accept as a result."""
        self.close_connection = True
        w = self.wfile
        if prof == "reset":
            import socket as so
            import struct
            self.connection.setsockopt(so.SOL_SOCKET, so.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if prof == "truncated":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000\r\n\r\n{\"enrollme")
        elif prof == "trickle":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n")
            for _ in range(int(args.slow_seconds) + 5):
                try:
                    w.write(b" ")
                    w.flush()
                except OSError:
                    return
                time.sleep(1)
        elif prof == "redirect":
            w.write(b"HTTP/1.1 302 Found\r\nLocation: https://evil.example/\r\n"
                    b"Content-Length: 0\r\n\r\n")
        elif prof == "http10":
            w.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"
                    b"{\"type\":\"EnrollmentResponse\"}")
        elif prof == "badchunk":
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"zz\r\nhello\r\n0\r\n\r\n")
        w.flush()

    def action(self, serial, req):
        act = req.get("action", {})
        if act.get("type") != "RevokeAction" or "reason" not in act:
            return self.send(400, error("cagw-4000", "RevokeAction with a reason needed"))
        with lock:
            known = any(e.get("serialNumber", "").lstrip("0") == serial
                        for e in state["enrollments"].values())
            if not known:
                return self.send(404, error("cagw-4041", "no such certificate"))
            if serial in state["revocations"] and not act.get("succeedIfAlreadyInRequestedState"):
                return self.send(400, error("cagw-4009", "already revoked"))
            rec = state["revocations"].setdefault(serial, [])
            rec.append(act["reason"])
            save()
        return self.send(200, {"type": "ActionResponse", "action": {
            "type": "RevokeAction", "status": "COMPLETED", "reason": act["reason"]}})


def main():
    global args
    p = argparse.ArgumentParser()
    for o in ("cert", "key", "client-ca", "ca-cert", "ca-key", "ca-id"):
        p.add_argument("--" + o, required=True)
    p.add_argument("--stats")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--slow-seconds", type=float, default=5)
    p.add_argument("--pending-retry-after", type=int, default=1)
    p.add_argument("--fast-issue", action="store_true")
    p.add_argument("--bind", default="127.0.0.1")
    args = p.parse_args()
    if args.fast_issue:
        load_fast()
    save()
    mtls_server.serve(Handler, args.port, args.cert, args.key, args.client_ca,
                      bind=args.bind)


if __name__ == "__main__":
    main()
