#!/usr/bin/env python3
"""audit_check.py LOG - an independent re-check of an hsmagent audit log,
the recipe audit/audit.h gives auditors. Exit 0 if intact."""
import hashlib
import json
import re
import sys

prev = "0" * 64
n = 0
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    r = json.loads(line)
    h = r.pop("hash")
    c = json.dumps(r, sort_keys=True, separators=(",", ":"))
    c = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), c)
    if r["seq"] != n or r["prev"] != prev:
        sys.exit(f"line {n}: sequence or chain broken")
    if hashlib.sha256(c.encode()).hexdigest() != h:
        sys.exit(f"line {n}: hash mismatch")
    prev = h
print(f"intact, {n} records")
