#!/usr/bin/env python3
"""memscan.py PID SECRET_FILE - search every readable mapping of PID for
the secret (as stored in SECRET_FILE, and without a trailing newline).
Exit 0 and "no match" if absent, 1 with the places if found. Needs root
(or ptrace rights): it reads /proc/PID/mem."""
import re
import sys

pid, secret_file = sys.argv[1], sys.argv[2]
secret = open(secret_file, "rb").read().rstrip(b"\n")
if len(secret) < 8:
    sys.exit("secret too short to scan for reliably")
hits, nmaps, nbytes = [], 0, 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        start, end, perms = int(m[1], 16), int(m[2], 16), m[3]
        if perms[0] != "r" or "[vvar]" in line or "[vsyscall]" in line:
            continue
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except (OSError, ValueError):
            continue
        nmaps += 1
        nbytes += len(data)
        if secret in data:
            hits.append(line.strip())
if hits:
    print("PIN found in:")
    print("\n".join(hits))
    sys.exit(1)
print(f"scanned {nmaps} mappings, {nbytes} bytes: no match")
