#!/usr/bin/env python3
"""fake_ca.py - a local CA for tests, speaking the small JSON protocol of
tests/testca_connector.c over HTTPS that demands a client certificate.

  POST /orders        {"ref","profile","csr","sans","validity_days"}
  GET  /orders?ref=R  the order made under that reference, or 404
  POST /orders/revoke {"ref","serial","reason"}: 200, or 404 if unknown

Answers {"id","status":"issued","certificate","chain"} or
{"id","status":"pending"} with Retry-After. Like a real CA it does not
deduplicate: two POSTs with one reference make two orders, and the test
reads --stats to check the agent never submitted twice.

Options let tests make the CA slow (--hold-seconds: record the order,
then wait before answering the POST) or slow to issue (--pending-seconds).
Standard library only; issuance shells out to `openssl x509 -req`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import mtls_server

MAX_BODY = 256 * 1024

lock = threading.Lock()
orders = {}          # ref -> order dict
posts = {}           # ref -> number of POSTs seen
revoked = {}         # ref -> reason code
args = None


def save_stats():
    with open(args.stats + ".tmp", "w") as f:
        json.dump({"posts": posts, "revoked": revoked,
                   "orders": {r: o["status"] for r, o in orders.items()},
                   "client_cns": sorted(client_cns)}, f)
    os.replace(args.stats + ".tmp", args.stats)


client_cns = set()


def issue(order):
    with tempfile.TemporaryDirectory() as d:
        csr = os.path.join(d, "req.csr")
        crt = os.path.join(d, "out.crt")
        with open(csr, "w") as f:
            f.write(order["csr"])
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", args.ca_cert,
                        "-CAkey", args.ca_key, "-CAcreateserial", "-CAserial",
                        os.path.join(os.path.dirname(args.stats), "fakeca.srl"),
                        "-days", str(order.get("validity_days") or 30), "-out", crt],
                       check=True, capture_output=True)
        order["certificate"] = open(crt).read()
    order["chain"] = open(args.ca_cert).read()
    order["status"] = "issued"


def view(order):
    v = {"id": order["id"], "status": order["status"]}
    if order["status"] == "issued":
        v["certificate"] = order["certificate"]
        v["chain"] = order["chain"]
    return v


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("fake_ca: " + fmt % a + "\n")

    def reply(self, code, obj, retry_after=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(body)

    def client_ok(self):
        cert = self.connection.getpeercert()
        cn = ""
        for rdn in cert.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    cn = v
        with lock:
            client_cns.add(cn)
        if args.expect_cn and cn != args.expect_cn:
            self.reply(403, {"error": "client certificate %s not allowed" % cn})
            return False
        return True

    def do_POST(self):
        if not self.client_ok():
            return
        # The body first: the connection may carry the next request.
        n = int(self.headers.get("Content-Length", "0"))
        if n <= 0 or n > MAX_BODY:
            self.close_connection = True
            return self.reply(400, {"error": "bad length"})
        raw = self.rfile.read(n)
        if self.path not in ("/orders", "/orders/revoke"):
            return self.reply(404, {"error": "no such endpoint"})
        try:
            req = json.loads(raw)
            ref = req["ref"]
            if self.path == "/orders/revoke":
                return self.revoke(ref, req["serial"], int(req["reason"]))
            csr = req["csr"]
        except (ValueError, KeyError):
            return self.reply(400, {"error": "malformed request"})
        with lock:
            posts[ref] = posts.get(ref, 0) + 1
            order = {"id": "fake-%d" % (len(orders) + sum(posts.values())),
                     "ref": ref, "csr": csr, "status": "pending",
                     "created": time.time(),
                     "validity_days": req.get("validity_days")}
            orders[ref] = order
            if args.pending_seconds == 0:
                issue(order)
            save_stats()
        if args.hold_seconds:
            time.sleep(args.hold_seconds)
        with lock:
            if order["status"] == "pending":
                return self.reply(201, view(order), retry_after=1)
            return self.reply(201, view(order))

    def revoke(self, ref, serial, reason):
        with lock:
            order = orders.get(ref)
            if order is None or order["status"] != "issued":
                return self.reply(404, {"error": "no issued certificate for this reference"})
            want = subprocess.run(["openssl", "x509", "-noout", "-serial"],
                                  input=order["certificate"], capture_output=True,
                                  text=True).stdout.strip().split("=")[-1].lower().lstrip("0")
            if want != serial:
                return self.reply(400, {"error": "serial %s is not this order's" % serial})
            revoked[ref] = reason
            order["status"] = "revoked"
            save_stats()
        return self.reply(200, {"status": "revoked"})

    def do_GET(self):
        if not self.client_ok():
            return
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path != "/orders" or "ref" not in q:
            return self.reply(404, {"error": "no such endpoint"})
        with lock:
            order = orders.get(q["ref"][0])
            if order is None:
                return self.reply(404, {"error": "no order with this reference"})
            if (order["status"] == "pending" and
                    time.time() - order["created"] >= args.pending_seconds):
                issue(order)
                save_stats()
            if order["status"] == "pending":
                return self.reply(200, view(order), retry_after=1)
            return self.reply(200, view(order))


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca", required=True)
    p.add_argument("--ca-cert", required=True)
    p.add_argument("--ca-key", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--expect-cn", default="")
    p.add_argument("--hold-seconds", type=float, default=0)
    p.add_argument("--pending-seconds", type=float, default=0)
    args = p.parse_args()
    save_stats()
    print("ready", flush=True)
    mtls_server.serve(Handler, args.port, args.cert, args.key, args.client_ca)


if __name__ == "__main__":
    main()
