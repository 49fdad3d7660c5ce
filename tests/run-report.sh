#!/usr/bin/env bash
# The HTML report (make report).
#  1. a suite run plus a mutant run (so it has divergences to show) and,
#     where KVM can be used, a hardware replay of the suite: the report must
#     be self-contained (no http/https references), have the runs table,
#     divergences side by side, and every per-run plot kind as inline SVG
#     (data-plot=NAME in reports/report.c), the replay plot when replayed;
#  2. a missing database is refused;
#  3. where Debian's chromium is installed, a small report (three scenarios
#     whose runs have every plot kind) is rendered headless to a PNG and the
#     picture must not be blank: ink on at least 2% of the pixels and the
#     plot colours present (tests/report-png.py); the full report is
#     rendered too and copied to build/report-screenshot.png.  Without
#     chromium: one SKIP line.
set -u
PAGESIM=${1:-./pagesim}
T=$(mktemp -d /tmp/pagesim-report.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "report: FAIL: $*"; exit 1; }
"$PAGESIM" run --db "$T/r.db" scenarios/ >/dev/null || fail "suite run"
"$PAGESIM" run --db "$T/r.db" --mutant no_dirty_bit scenarios/walk >/dev/null && fail "mutant run passed"
replayed=no
PAGESIM_QEMU=/nonexistent "$PAGESIM" replay --db "$T/r.db" --all >"$T/replay.out" 2>&1
case $? in
    0|1) replayed=yes ;;
    3) echo "report: SKIP replay plot: $(head -1 "$T/replay.out")" ;;
    *) cat "$T/replay.out"; fail "pagesim replay" ;;
esac
"$PAGESIM" report --db "$T/r.db" -o "$T/html" >/dev/null || fail "pagesim report"
h="$T/html/index.html"
grep -q '<h2>Divergences</h2>' "$h" || fail "no divergences section"
grep -q "class='mono exp'" "$h" || fail "no expected/actual columns"
for p in cycles tlb walkrefs dirty paging ring refs exits peek ops; do
    grep -q "data-plot='$p'><svg" "$h" || fail "no '$p' plot in the report"
done
if [ $replayed = yes ]; then
    grep -q "data-plot='replay'><svg" "$h" || fail "replayed, but no replay plot"
fi
grep -q '<h2 id=calibration>' "$h" || fail "no calibration section"
grep -Eq '(src|href)=.https?://' "$h" && fail "the report fetches something at view time"
"$PAGESIM" report --db "$T/nonexistent.db" -o "$T/x" >/dev/null 2>&1 && fail "missing db accepted"
# the text view of the same database (pagesim show)
"$PAGESIM" show --db "$T/r.db" | grep -q '| scenarios/walk/accessed_dirty.lua |' ||
    fail "pagesim show lists no runs"
"$PAGESIM" show --db "$T/r.db" --run 1 | grep -q '| domain_create |' ||
    fail "pagesim show --run 1 lists no steps"
d=$(sqlite3 "$T/r.db" "select min(id) from runs where status = 'diverge'")
"$PAGESIM" show --db "$T/r.db" --run "$d" | sed -n '/| field | expected |/,/^step | message/p' |
    grep -Eq '^[0-9]+ \| .*\.lua:[0-9]+ \| ' || fail "pagesim show of diverging run $d shows no divergence"
"$PAGESIM" show --db "$T/nonexistent.db" >/dev/null 2>&1 && fail "pagesim show: missing db accepted"
"$PAGESIM" mutants | grep -q '^no_dirty_bit' || fail "pagesim mutants does not list no_dirty_bit"
echo "report: every plot kind present ($(grep -o '<svg' "$h" | wc -l) inline SVG plots, replay: $replayed)"

CHROME=$(command -v chromium || command -v chromium-browser || true)
shot() { # html png width height
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$T/prof" --window-size="$3,$4" --screenshot="$2" \
        "file://$1" >/dev/null 2>&1
    [ -s "$2" ] || fail "chromium produced no screenshot of $1"
}
if [ -z "$CHROME" ]; then
    echo "report: SKIP screenshot: chromium is not installed (apt-get install chromium)"
else
    "$PAGESIM" run --db "$T/s.db" scenarios/tlb/random_stale.lua scenarios/mempaging/pager.lua \
        scenarios/logdirty/mark_dirty_on_write.lua >/dev/null || fail "small run"
    "$PAGESIM" report --db "$T/s.db" -o "$T/small" >/dev/null || fail "small report"
    shot "$T/small/index.html" "$T/small.png" 1400 4200
    stat=$(python3 tests/report-png.py "$T/small.png") || fail "$stat"
    echo "report: screenshot $stat"
    echo "$stat" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
        END { exit !(v["ink"] >= 0.02 && v["blue"] >= 2000 && v["red"] >= 100) }' ||
        fail "the screenshot looks blank or has no plots ($stat)"
    shot "$h" "$T/shot.png" 1300 1800
    mkdir -p build && cp "$T/shot.png" build/report-screenshot.png &&
        cp "$T/small.png" build/report-plots-screenshot.png
    echo "report: screenshots in build/report-screenshot.png, build/report-plots-screenshot.png"
fi
echo "report: all passed"
