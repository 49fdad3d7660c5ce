#!/usr/bin/env python3
"""tests/coverage-domain.py - the domain coverage of a trace database.

Reads the coverage table (via the transition_coverage view) that the
engine fills per run (eng_cover() in sim/engine/engine.c and
engine-paging.c) and prints, for `make coverage`:

  1. (P2M type x operation): type before the operation (rows) against the
     hypervisor operation or guest access (columns); a cell lists the
     outcomes reached: the type after ("rw", "ld", ...), "ok" (rc 0 of an
     operation that changes no type), an error ("E17" = rc -17) or, for accesses, how the EPT fault was handled (npf kind:
     "retry", "mmio", "paused", ...);
  2. (paging state x operation): the same for the mem-paging operations
     (kind paging) and every operation met on a gfn in a paging state;
  3. the #PF error codes reached, decoded (P W U RSVD I PK SS);
  4. the EPT exit qualifications reached, decoded (SDM Table 28-7).

Usage: coverage-domain.py DB
"""
import sqlite3
import sys

SHORT = {"mmio_dm": "mmio", "ram_rw": "rw", "ram_logdirty": "ld", "ram_ro": "ro",
         "ram_paging_out": "pout", "ram_paged": "paged", "ram_paging_in": "pin",
         "out_of_range": "oor"}
PAGING = ("ram_paging_out", "ram_paged", "ram_paging_in")
# The types the sim core handles (sim/p2m.c; shared and mmio_direct are not
# modelled yet) and the operations on them, so that cells never reached
# show as "." and count in the total.
P2M_TYPES = (["mmio_dm", "ram_rw", "ram_logdirty", "ram_ro"] + list(PAGING)
             + ["grant_map_rw", "grant_map_ro", "map_foreign", "populate_on_demand",
                "ioreq_server", "out_of_range"])
P2M_OPS = ["populate", "remove", "set_type", "copy_to_guest", "read", "write", "fetch"]
PAGING_TYPES = ["ram_rw", "ram_logdirty"] + list(PAGING)
PAGING_OPS = ["nominate", "evict", "prep", "resume", "foreign_map", "populate", "remove",
              "copy_to_guest", "read", "write", "fetch"]


def parse(kind, key):
    """(op, before, outcome) of a p2m / paging / npf key, or None."""
    if kind in ("p2m", "paging"):
        if ":" not in key:
            return None
        op, rest = key.split(":", 1)
        if "->" in rest:
            before, after = rest.split("->", 1)
            return op, before, SHORT.get(after, after)
        if ":rc=" not in rest:
            return None
        before, rc = rest.rsplit(":rc=", 1)
        return op, before, "ok" if int(rc) == 0 else "E%d" % -int(rc)
    if kind == "npf":
        if ":" not in key or "->" not in key:
            return None  # exits that never reach the P2M (misconfig, pml_full)
        typ, rest = key.split(":", 1)
        acc, res = rest.split("->", 1)
        return acc, typ, res
    return None


def matrix(title, triples, rows, ops):
    """rows x ops, plus any row or op the database has beyond them."""
    rows = rows + sorted({t[1] for t in triples} - set(rows))
    ops = ops + sorted({t[0] for t in triples} - set(ops))
    cells = {}
    for op, before, out in triples:
        cells.setdefault((before, op), set()).add(out)
    width = {op: max(len(op), *(len(",".join(sorted(cells.get((r, op), ())))) for r in rows))
             for op in ops}
    print("  %s: %d of %d (type, operation) cells reached" %
          (title, len(cells), len(ops) * len(rows)))
    print("    %-15s %s" % ("type before", " ".join("%-*s" % (width[o], o) for o in ops)))
    for r in rows:
        print("    %-15s %s" % (r, " ".join(
            "%-*s" % (width[o], ",".join(sorted(cells.get((r, o), ()))) or ".") for o in ops)))


def bits(v, names):
    return "|".join(n for i, n in names if v >> i & 1) or "-"


def main():
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    rows = db.execute("SELECT kind, key, runs, total FROM transition_coverage").fetchall()
    kinds = {}
    for kind, _, _, total in rows:
        n, t = kinds.get(kind, (0, 0))
        kinds[kind] = (n + 1, t + total)
    runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
    print("coverage: domain transitions reached by %d runs, per kind:" % runs)
    for kind in sorted(kinds):
        print("  %-10s %4d distinct, %8d times" % (kind, *kinds[kind]))
    p2m, paging = [], []
    for kind, key, _, _ in rows:
        t = parse(kind, key)
        if not t:
            continue
        if kind in ("p2m", "npf"):
            p2m.append(t)
        if kind == "paging" or t[1] in PAGING:
            paging.append(t)
    print("coverage: outcomes: type after (%s), ok = rc 0 (no type change), Enn = rc -nn, npf handling for accesses" %
          ", ".join("%s=%s" % (v, k) for k, v in SHORT.items()))
    matrix("(P2M type x operation)", p2m, P2M_TYPES, P2M_OPS)
    matrix("(paging state x operation)", paging, PAGING_TYPES, PAGING_OPS)
    pf = sorted(int(k, 16) for kind, k, _, _ in rows if kind == "pf_ec")
    names = [(0, "P"), (1, "W"), (2, "U"), (3, "RSVD"), (4, "I"), (5, "PK"), (6, "SS")]
    print("  #PF error codes: %d distinct: %s" %
          (len(pf), "  ".join("%#x=%s" % (v, bits(v, names)) for v in pf)))
    q = sorted(int(k, 16) for kind, k, _, _ in rows if kind == "ept_qual")
    qn = [(0, "r"), (1, "w"), (2, "x"), (3, "R"), (4, "W"), (5, "X"), (6, "uX"),
          (7, "gla"), (8, "final")]
    print("  EPT exit qualifications: %d distinct (access r/w/x, entry R/W/X, gla valid,"
          " final translation): %s" %
          (len(q), "  ".join("%#x=%s" % (v, bits(v, qn)) for v in q)))
    return 0


sys.exit(main())
