#!/usr/bin/env python3
"""memscan.py PID SECRET_FILE - search every readable mapping of PID for
the secret (as stored in SECRET_FILE, and without a trailing newline).
Exit 0 and "no match" if absent, 1 with the places if found. Needs root
(or ptrace rights): it reads /proc/PID/mem.

Mappings larger than 4 GiB are not read but listed as skipped: only a
sanitizer's shadow memory is that large (terabytes, reserved, holding
metadata about other memory and never program data). The caller decides
whether skips are acceptable (they are not for a normal build)."""
import re
import sys

CHUNK = 16 << 20
HUGE = 4 << 30

pid, secret_file = sys.argv[1], sys.argv[2]
secret = open(secret_file, "rb").read().rstrip(b"\n")
if len(secret) < 8:
    sys.exit("secret too short to scan for reliably")
hits, nmaps, nbytes, skipped = [], 0, 0, 0


def scan(mem, start, end):
    """True if the secret is in [start, end); chunked, with overlap."""
    global nbytes
    pos, tail = start, b""
    while pos < end:
        n = min(CHUNK, end - pos)
        mem.seek(pos)
        data = mem.read(n)
        nbytes += len(data)
        if secret in tail + data:
            return True
        tail = data[-(len(secret) - 1):]
        pos += n
    return False


with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        start, end, perms = int(m[1], 16), int(m[2], 16), m[3]
        if perms[0] != "r" or "[vvar]" in line or "[vsyscall]" in line:
            continue
        if end - start > HUGE:
            skipped += 1
            continue
        try:
            found = scan(mem, start, end)
        except (OSError, ValueError):
            continue
        nmaps += 1
        if found:
            hits.append(line.strip())
if hits:
    print("secret found in:")
    print("\n".join(hits))
    sys.exit(1)
print(f"scanned {nmaps} mappings, {nbytes} bytes: no match")
print(f"skipped {skipped} mappings larger than 4 GiB")
