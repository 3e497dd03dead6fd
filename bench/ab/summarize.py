#!/usr/bin/env python3
# bench/ab/summarize.py: the Markdown ratio table of one or more run_ab.sh
# outputs: per case the best time over rounds of each build, new/old time
# ratio (< 1: the new build is faster) and the spread of the per-round
# ratios (min..max), which shows the noise.
import sys
from collections import OrderedDict

rows = OrderedDict()
for path in sys.argv[1:]:
    for line in open(path):
        f = line.split()
        if len(f) < 10:
            continue
        rnd, build, thr, op, isa, m, n, k, sec = f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], float(f[8])
        key = (thr, op, isa, m, n, k)
        rows.setdefault(key, {}).setdefault(build, {})[(path, rnd)] = sec

print("| threads | kernel | ISA | shape | rounds | old best (s) | new best (s) | new/old | per-round new/old |")
print("|---|---|---|---|---|---|---|---|---|")
for (thr, op, isa, m, n, k), b in rows.items():
    if "old" not in b or "new" not in b:
        continue
    o, nw = min(b["old"].values()), min(b["new"].values())
    rounds = len(b["old"])
    per = [b["new"][r] / b["old"][r] for r in b["old"] if r in b["new"]]
    if op == "syrk":
        shape = "n=%s tokens=%s" % (n, k)
    elif op == "cholesky":
        shape = "n=%s" % n
    else:
        shape = "M=%s N=%s K=%s" % (m, n, k)
    print("| %s | %s | %s | %s | %d | %.4g | %.4g | %.3f | %.2f..%.2f |" % (
        thr, op, isa, shape, rounds, o, nw, nw / o, min(per), max(per)))
