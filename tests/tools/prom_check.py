#!/usr/bin/env python3
"""prom_check.py FILE [FAMILY...]: FILE must be valid Prometheus text
exposition (every sample's family has HELP and TYPE first, names and
labels well formed, values numbers, histogram buckets cumulative with
+Inf equal to _count) and hold every FAMILY named. Exit 1 with the reason."""
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? (-?[0-9.eE+-]+|[+-]Inf|NaN)$')


def main():
    text = open(sys.argv[1]).read()
    help_, type_, seen = set(), {}, {}
    buckets = {}
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            help_.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if kind not in ("counter", "gauge", "histogram", "summary", "untyped"):
                sys.exit(f"line {n}: bad type {kind}")
            type_[name] = kind
            continue
        m = SAMPLE.match(line)
        if not m:
            sys.exit(f"line {n}: not a sample: {line!r}")
        name = m.group(1)
        fam = re.sub(r'_(bucket|sum|count)$', '', name) if re.sub(r'_(bucket|sum|count)$', '', name) in type_ else name
        if fam not in type_ or fam not in help_:
            sys.exit(f"line {n}: {name} without HELP and TYPE before it")
        seen[fam] = seen.get(fam, 0) + 1
        # One histogram per label set (le aside): its own buckets.
        labels = ",".join(l for l in (m.group(3) or "").split(",")
                          if l and not l.startswith("le="))
        if name.endswith("_bucket"):
            buckets.setdefault((fam, labels), []).append(float(m.group(4)))
        if name.endswith("_count") and type_[fam] == "histogram":
            b = buckets.get((fam, labels), [])
            if b != sorted(b) or not b or b[-1] != float(m.group(4)):
                sys.exit(f"{fam}: buckets not cumulative or +Inf != count")
    for fam in sys.argv[2:]:
        if fam not in seen:
            sys.exit(f"no samples of {fam}")


main()
