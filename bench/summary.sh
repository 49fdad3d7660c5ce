#!/usr/bin/env bash
# bench/summary.sh - passes `make bench` output through and, at the end,
# prints every 'BENCH <name> <value> <unit> [anchor...]' line as one table
# (name, value, unit, anchor).  Anchors come from the BENCH line itself or
# from bench/anchors.txt (exact name first, then the longest '*' prefix or
# suffix pattern); a figure without one shows '-'.  Any benchmark that
# prints BENCH lines appears without further wiring.
# Usage: { benchmarks...; } 2>&1 | bench/summary.sh [ANCHORS]
set -u
ANCHORS=${1:-$(dirname "$0")/anchors.txt}
awk -v anchors="$ANCHORS" '
function anchor_of(name,    a, best, bl, p, k) {
    if (name in exact) return exact[name]
    best = "-"; bl = -1
    for (p in pat) {
        k = p; sub(/\*/, "", k)
        if ((substr(p, 1, 1) == "*" && length(name) >= length(k) &&
             substr(name, length(name) - length(k) + 1) == k) ||
            (substr(p, length(p), 1) == "*" && substr(name, 1, length(k)) == k))
            if (length(k) > bl) { best = pat[p]; bl = length(k) }
    }
    return best
}
BEGIN {
    while ((getline line < anchors) > 0) {
        if (line ~ /^#/ || line ~ /^[ \t]*$/) continue
        split(line, f, /[ \t]+/)
        name = f[1]; a = line; sub(/^[^ \t]+[ \t]+/, "", a)
        if (name ~ /\*/) pat[name] = a; else exact[name] = a
    }
}
{ print; fflush() }
$1 == "BENCH" && NF >= 4 {
    n++; nm[n] = $2; val[n] = $3; unit[n] = $4
    a = ""
    for (i = 5; i <= NF; i++) a = a (i > 5 ? " " : "") $i
    anc[n] = a != "" ? a : anchor_of($2)
}
END {
    if (!n) { print "bench: no BENCH lines"; exit }
    w1 = 4; w2 = 5; w3 = 4
    for (i = 1; i <= n; i++) {
        if (length(nm[i]) > w1) w1 = length(nm[i])
        if (length(val[i]) > w2) w2 = length(val[i])
        if (length(unit[i]) > w3) w3 = length(unit[i])
    }
    printf "\n==== bench: summary (%d figures)\n", n
    printf "%-*s  %*s  %-*s  %s\n", w1, "name", w2, "value", w3, "unit", "anchor"
    for (i = 1; i <= n; i++)
        printf "%-*s  %*s  %-*s  %s\n", w1, nm[i], w2, val[i], w3, unit[i], anc[i]
}'
