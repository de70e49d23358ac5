#!/usr/bin/env python3
"""audit_rechain.py LOG - what a root attacker who rewrites the audit log
does to hide it from the hash chain: every record's seq, prev and hash
recomputed (audit/audit.h says how), and LOG.head written to match. The
chain then verifies; only the checkpoints can tell.
"""
import hashlib
import json
import re
import sys


def canon(r):
    c = json.dumps(r, sort_keys=True, separators=(",", ":"))
    return re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), c)


def main(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    prev, out = "0" * 64, []
    for n, line in enumerate(lines, 1):
        r = json.loads(line)
        r.pop("hash", None)
        r["seq"] = n
        r["prev"] = prev
        h = hashlib.sha256(canon(r).encode()).hexdigest()
        r["hash"] = h
        out.append(canon(r))
        prev = h
    open(path, "w", encoding="utf-8").write("\n".join(out) + "\n")
    open(path + ".head", "w").write("%020d %s\n" % (len(lines), prev))


if __name__ == "__main__":
    main(sys.argv[1])
