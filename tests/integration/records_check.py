#!/usr/bin/env python3
"""records_check.py DB LOG [--gw GW.JSON] [--recovered ID] - every order
in the agent's orders.db against its audit log (SECURITY.md, "Records
before state"). Each order has its decision on record (policy.decision
allowed, or track.renew for a renewal) before any submission; an issued
or revoked order has a ca.result issued record with its certificate's
hash, a revoked one its ca.revoke ok, a failed or rejected one its
ca.result. With --gw (fake_cagw.py's stats): the gateway saw one
enrollment for each issued or revoked order and never two for any (by
CSR: a renewal's orders share their tracked certificate's). With
--recovered ID: that order's owed record was written late, marked
"recovered". Exit 0 if all hold, else 1 with what is missing."""
import argparse
import base64
import hashlib
import json
import sqlite3
import sys


def body(pem):
    return "".join(l.strip() for l in pem.splitlines() if "-----" not in l)


ap = argparse.ArgumentParser()
ap.add_argument("db")
ap.add_argument("log")
ap.add_argument("--gw")
ap.add_argument("--recovered", default="")
a = ap.parse_args()

recs = [json.loads(l) for l in open(a.log, encoding="utf-8")]
rows = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True).execute(
    "SELECT id, state, cert_pem, csr_pem FROM orders").fetchall()
sent = None
if a.gw:
    sent = {}
    for e in json.load(open(a.gw))["enrollments"].values():
        sent[body(e["csr"])] = sent.get(body(e["csr"]), 0) + 1
by_target = {}
for i, r in enumerate(recs):
    t = r.get("target")
    if r["event"] == "track.renew" and isinstance(r.get("details"), dict):
        t = r["details"].get("order", t)
    by_target.setdefault(t, []).append(r)

bad = []
# A renewal asks again with its tracked certificate's CSR: the gateway's
# count for a CSR is checked against all the orders made with it, at
# most one enrollment each, and at least one for each issued or revoked.
by_csr = {}
for oid, state, cert, csr in rows:
    by_csr.setdefault(body(csr), []).append((oid, state))
if sent is not None:
    for c, orders in by_csr.items():
        n = sent.get(c, 0)
        done = sum(1 for _, st in orders if st in ("issued", "revoked"))
        if n > len(orders) or n < done:
            names = ", ".join(f"{o} ({st})" for o, st in orders)
            bad.append(f"{names}: the gateway saw {n} enrollments for "
                       f"{'it' if len(orders) == 1 else 'them'}")
for oid, state, cert, csr in rows:
    mine = by_target.get(oid, [])
    ev = [(r["event"], r["outcome"]) for r in mine]
    decided = [i for i, (e, o) in enumerate(ev)
               if (e, o) in (("policy.decision", "allowed"),
                             ("track.renew", "submitted"))]
    if not decided:
        bad.append(f"{oid} ({state}): no decision on record")
        continue
    if any(e == "order.submit" for e, _ in ev[:decided[0]]):
        bad.append(f"{oid}: submitted before its decision was on record")
    if state in ("issued", "revoked"):
        want = hashlib.sha256(base64.b64decode(body(cert))).hexdigest()
        got = [r["details"].get("cert_sha256") for r in mine
               if (r["event"], r["outcome"]) == ("ca.result", "issued")]
        if want not in got:
            bad.append(f"{oid}: {state}, but no ca.result issued for its "
                       f"certificate ({got})")
    if state == "revoked" and ("ca.revoke", "ok") not in ev:
        bad.append(f"{oid}: revoked, but no ca.revoke ok on record")
    if state in ("failed", "rejected") and ("ca.result", state) not in ev:
        bad.append(f"{oid}: {state}, but no ca.result {state} on record")
    if oid == a.recovered and not any(
            isinstance(r.get("details"), dict) and r["details"].get("recovered")
            for r in mine):
        bad.append(f"{oid}: its owed record was not written late")
if a.recovered and a.recovered not in [r[0] for r in rows]:
    bad.append(f"{a.recovered}: no such order")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"{len(rows)} orders, every one on record")
