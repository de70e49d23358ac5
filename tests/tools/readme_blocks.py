#!/usr/bin/env python3
"""readme_blocks.py README MAP OUTDIR: the README's examples, for the test
that runs them (tests/integration/test_readme.sh).

Fenced blocks whose info string is one of
    ini readme-config          a whole hsmagentd.conf
    ini readme-connector       [connector] sections, added to the config
    ini readme-policy [main]   a policy file ("main": the one served)
    ini readme-unit NAME       a systemd unit
    ini readme-dropin NAME     a drop-in for the installed unit NAME
    sh readme-test [exit=N]    commands, run in order; exit N expected
are written to OUTDIR as NN-KIND[-ARG] (NN: their order in the README),
after the replacements in MAP (lines "FROM<TAB>TO", longest first): the
README speaks of real hosts and paths, the test of its fixtures. Every
other fenced block must be "text" (syntax, output), so that no example
escapes the test. Prints how many of each kind."""
import collections
import os
import re
import sys

readme, mapfile, out = sys.argv[1:4]
pairs = []
for line in open(mapfile):
    line = line.rstrip("\n")
    if line:
        a, b = line.split("\t", 1)
        # "\n" in TO: a line the test adds (the README leaves it to the
        # compiled default, the test must name its build's).
        pairs.append((a, b.replace("\\n", "\n")))
pairs.sort(key=lambda p: -len(p[0]))

KINDS = {"readme-config", "readme-connector", "readme-policy", "readme-unit",
         "readme-dropin", "readme-test"}
os.makedirs(out, exist_ok=True)
counts = collections.Counter()
fence = None
n = 0
for lineno, line in enumerate(open(readme), 1):
    if fence is None:
        m = re.match(r"^```(.*)$", line.rstrip("\n"))
        if not m:
            continue
        info = m.group(1).split()
        if len(info) >= 2 and info[1] in KINDS:
            kind = info[1][len("readme-"):]
            arg = "-".join(info[2:])
            fence = (kind, arg, [])
        elif info == ["text"]:
            fence = ("text", "", [])
        else:
            sys.exit(f"{readme}:{lineno}: a fenced block must be 'text' or "
                     f"an example the test runs (readme-*), not {m.group(1)!r}")
        continue
    if line.rstrip("\n") == "```":
        kind, arg, body = fence
        fence = None
        if kind == "text":
            continue
        n += 1
        text = "".join(body)
        for a, b in pairs:
            text = text.replace(a, b)
        name = f"{n:02d}-{kind}" + (f"-{arg}" if arg else "")
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
        counts[kind] += 1
        continue
    fence[2].append(line)
if fence is not None:
    sys.exit(f"{readme}: unterminated fenced block")
print(" ".join(f"{k}={counts[k]}" for k in sorted(counts)))
