#!/usr/bin/env bash
# The scenario suite and the CLI contract:
#   1. the default suite (scenarios/) passes;
#   2. it is deterministic: two runs give the same trace digests;
#   3. broken scenarios (tests/bad/) are reported with file:line, exit
#      non-zero, and do not stop the other scenarios from being recorded;
#   4. bad flags and unusable databases are refused with a message and exit 2,
#      leaving the file untouched.
set -u
PAGESIM=${1:-./pagesim}
T=$(mktemp -d /tmp/pagesim-suite.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "suite: FAIL: $*"; exit 1; }

echo "suite: default scenarios"
"$PAGESIM" run --db "$T/a.db" scenarios/ | tee "$T/a.out" || fail "the default suite failed"
tail -1 "$T/a.out" | grep -Eq '^[0-9]+ passed, 0 failed$' || fail "no closing 'N passed, 0 failed' line"
n=$(find scenarios -name '*.lua' | wc -l)
[ "$(sqlite3 "$T/a.db" 'select count(*) from runs')" = "$n" ] || fail "runs rows != $n scenario files"

echo "suite: determinism (second run, same digests)"
"$PAGESIM" run --db "$T/b.db" scenarios/ >/dev/null || fail "second run failed"
q='select scenario, digest, steps from runs order by scenario'
diff <(sqlite3 "$T/a.db" "$q") <(sqlite3 "$T/b.db" "$q") || fail "digests differ between two runs"
# A different seed changes what math.random draws, so the digest of a
# scenario that uses it changes; the others stay.
"$PAGESIM" run --db "$T/c.db" --seed 7 scenarios/regressions/two_domains_logdirty.lua >/dev/null || fail "seed 7 run failed"
[ "$(sqlite3 "$T/c.db" 'select digest from runs')" != \
  "$(sqlite3 "$T/a.db" "select digest from runs where scenario like '%two_domains_logdirty%'")" ] \
  || fail "--seed does not reach math.random"

echo "suite: broken scenarios"
good=scenarios/walk/accessed_dirty.lua
"$PAGESIM" run --db "$T/bad.db" tests/bad/*.lua "$good" tests/bad/missing.lua >"$T/bad.out" 2>&1 \
  && fail "broken scenarios exited 0"
sed 's/^/  | /' "$T/bad.out"
grep -q 'syntax_error.lua:3:' "$T/bad.out" || fail "syntax error without file:line"
grep -q "unknown_api.lua:3:.*frobnicate" "$T/bad.out" || fail "unknown API call without file:line"
grep -q 'gfn_out_of_range.lua:3:.*out of range' "$T/bad.out" || fail "gfn out of range without file:line"
grep -q 'infinite_loop.lua.*instruction budget' "$T/bad.out" || fail "runaway loop not stopped"
grep -q "^PASS .*accessed_dirty" "$T/bad.out" || fail "the good scenario did not pass beside broken ones"
grep -q 'missing.lua: cannot open' "$T/bad.out" || fail "missing file not reported"
[ "$(sqlite3 "$T/bad.db" "select count(*) from runs where status='error'")" = 5 ] || fail "broken runs not recorded"
[ "$(sqlite3 "$T/bad.db" "select count(*) from runs where status='pass'")" = 1 ] || fail "good run not recorded"

echo "suite: a hung scenario is killed and the others still run"
"$PAGESIM" run --db "$T/hang.db" --timeout 1 --max-instructions 1000000000000 \
    tests/bad/infinite_loop.lua "$good" >"$T/hang.out" 2>&1 && fail "a hung scenario exited 0"
grep -q 'infinite_loop.lua: did not finish within 1 s' "$T/hang.out" || fail "hang not reported: $(cat "$T/hang.out")"
grep -q "^PASS .*accessed_dirty" "$T/hang.out" || fail "the scenario after a hang did not run"
[ "$(sqlite3 "$T/hang.db" "select group_concat(status) from runs order by id")" = "error,pass" ] \
    || fail "hung run not recorded as error beside the good one"

echo "suite: bad flags and databases"
"$PAGESIM" run --seed x "$good" >/dev/null 2>"$T/e1" && fail "--seed x accepted"
grep -q "not a number" "$T/e1" || fail "no message for --seed x"
"$PAGESIM" run --mutant nope "$good" >/dev/null 2>&1; [ $? = 2 ] || fail "unknown mutant not exit 2"
"$PAGESIM" frob >/dev/null 2>&1; [ $? = 2 ] || fail "unknown command not exit 2"
echo "not a database" > "$T/text.db"; cp "$T/text.db" "$T/text.orig"
"$PAGESIM" run --db "$T/text.db" "$good" >/dev/null 2>"$T/e2"; [ $? = 2 ] || fail "text file as db not exit 2"
grep -q "text.db" "$T/e2" || fail "db error does not name the file"
cmp -s "$T/text.db" "$T/text.orig" || fail "a refused database was modified"
"$PAGESIM" --help | grep -q 'pagesim run' || fail "--help"
"$PAGESIM" run --help | grep -q -- '--seed' || fail "run --help"
echo "suite: CI formats, shards and merge"
"$PAGESIM" run --no-db --tap scenarios/ >"$T/tap.out" || fail "--tap run failed"
head -1 "$T/tap.out" | grep -qx 'TAP version 13' || fail "TAP header"
grep -qx "1..$n" "$T/tap.out" || fail "TAP plan"
[ "$(grep -c '^ok [0-9]* - ' "$T/tap.out")" = "$n" ] || fail "TAP ok lines"
"$PAGESIM" run --no-db --junit "$T/j.xml" scenarios/ tests/bad/unknown_api.lua >/dev/null && fail "junit run with a broken scenario exited 0"
grep -q "<testsuite name=\"pagesim\" tests=\"$((n + 1))\" failures=\"0\" errors=\"1\"" "$T/j.xml" || fail "JUnit counts"
for k in 1 2 3; do
    "$PAGESIM" run --db "$T/shard$k.db" --shard $k/3 scenarios/ >/dev/null || fail "shard $k/3"
done
"$PAGESIM" merge "$T/merged.db" "$T/shard1.db" "$T/shard2.db" "$T/shard3.db" >/dev/null || fail "merge"
diff <(sqlite3 "$T/a.db" "$q") <(sqlite3 "$T/merged.db" "$q") || fail "3 shards merged != one full run"
[ "$(sqlite3 "$T/merged.db" 'select count(*) from steps')" = "$(sqlite3 "$T/a.db" 'select count(*) from steps')" ] \
  || fail "merged steps"
"$PAGESIM" merge "$T/merged.db" "$T/text.db" >/dev/null 2>"$T/e3"; [ $? = 1 ] || fail "merging a text file not refused"
grep -q 'text.db' "$T/e3" || fail "merge error does not name the file"
"$PAGESIM" run --shard 4/3 scenarios/ >/dev/null 2>&1; [ $? = 2 ] || fail "--shard 4/3 accepted"
echo "suite: all passed"
