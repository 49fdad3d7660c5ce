#!/usr/bin/env bash
# The HTML report: generated from a suite run plus a mutant run (so it has
# divergences to show), self-contained (no http/https references), with the
# runs table, divergences side by side and inline SVG plots.  Where Debian's
# chromium is installed it is rendered headless to a PNG screenshot
# (report/screenshot.png under the temp dir, copied to build/ for a look).
set -u
PAGESIM=${1:-./pagesim}
T=$(mktemp -d /tmp/pagesim-report.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "report: FAIL: $*"; exit 1; }
"$PAGESIM" run --db "$T/r.db" scenarios/ >/dev/null || fail "suite run"
"$PAGESIM" run --db "$T/r.db" --mutant no_dirty_bit scenarios/walk >/dev/null && fail "mutant run passed"
"$PAGESIM" report --db "$T/r.db" -o "$T/html" >/dev/null || fail "pagesim report"
h="$T/html/index.html"
grep -q '<h2>Divergences</h2>' "$h" || fail "no divergences section"
grep -q "class='mono exp'" "$h" || fail "no expected/actual columns"
[ "$(grep -o '<svg' "$h" | wc -l)" -ge 4 ] || fail "no inline SVG plots"
grep -Eq '(src|href)=.https?://' "$h" && fail "the report fetches something at view time"
"$PAGESIM" report --db "$T/nonexistent.db" -o "$T/x" >/dev/null 2>&1 && fail "missing db accepted"
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
    echo "report: SKIP screenshot: chromium is not installed (apt-get install chromium)"
else
    timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$T/prof" --window-size=1300,1800 --screenshot="$T/shot.png" \
        "file://$h" >/dev/null 2>&1
    [ -s "$T/shot.png" ] || fail "chromium produced no screenshot"
    sz=$(stat -c %s "$T/shot.png")
    [ "$sz" -gt 20000 ] || fail "screenshot suspiciously small ($sz bytes)"
    mkdir -p build && cp "$T/shot.png" build/report-screenshot.png
    echo "report: screenshot OK ($sz bytes, build/report-screenshot.png)"
fi
echo "report: all passed"
