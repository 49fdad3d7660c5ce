#!/usr/bin/env bash
# hw-replay stage of make check (issue 5): recorded runs replayed on KVM and
# on QEMU TCG.
#   1. bad input is refused (exit 2) without any backend: missing db,
#      non-pagesim db, missing run id, bad flags;
#   2. where /dev/kvm cannot create a VM: ONE 'hw-replay: SKIP kvm' line with
#      the reason, and the KVM checks are not run;
#   3. the default suite plus tests/hwreplay/cpl3_walk.lua, recorded and
#      replayed on KVM: the differences must be exactly
#      tests/hwreplay/expected-diffs.txt (model gaps found by replay, each
#      explained there);
#   4. mutants (model forgets the D bit; ignores CR0.WP; the log-dirty fault
#      forgets to mark; log-dirty pages left writable; SMAP ignores EFLAGS.AC;
#      large-page PAT bit taken as an address bit) are caught: new
#      differences beyond the expected ones;
#   5. a guest that hangs ends its replay with a clear error within the time
#      bound; the recorded tables are untouched;
#   6. a stale recording (digest changed) is reported as such; a run
#      recorded with --hap npt replays as NPT (runs.hap), not stale;
#   7. QEMU TCG backend (one boot per access, about 0.1 s each), the same
#      recorded runs: differences must equal tests/hwreplay/expected-diffs-qemu.txt,
#      the ignore_wp, no_dirty_bit, pk_ignore_wd, pae_ec_no_u and pse_no_dirty
#      mutants must be caught (the last two: 32-bit/PAE paging, stub32.S); where
#      qemu-system-x86_64 is missing, ONE 'hw-replay: SKIP qemu' line.
set -u
PAGESIM=${1:-./pagesim}
T=$(mktemp -d /tmp/pagesim-hwreplay.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "hwreplay: FAIL: $*"; exit 1; }
expect_rc() { # want cmd...
    local want=$1; shift
    "$@" >"$T/out" 2>&1; local rc=$?
    [ "$rc" = "$want" ] || { sed 's/^/  | /' "$T/out"; fail "'$*' exited $rc, expected $want"; }
}
# every difference: scenario | src | access | field | model | backend | known
q="select r.scenario, d.src, d.access, d.field, d.model, d.hw, coalesce(d.known, '-')
   from hw_diffs d join hw_runs h on h.id = d.hw_run_id join runs r on r.id = h.run_id
   order by d.id"

# 1. bad input (no backend needed: the database is checked first)
"$PAGESIM" run --db "$T/s.db" scenarios/ tests/hwreplay/cpl3_walk.lua tests/hwreplay/paging_uffd.lua >/dev/null \
  || fail "recording the suite failed"
cp "$T/s.db" "$T/q.db"
expect_rc 2 "$PAGESIM" replay --db "$T/none.db" --all
grep -q "none.db" "$T/out" || fail "missing database not named"
echo "not a database" >"$T/junk.db"
expect_rc 2 "$PAGESIM" replay --db "$T/junk.db" --all
grep -q "junk.db" "$T/out" || fail "foreign file not named"
[ "$(cat "$T/junk.db")" = "not a database" ] || fail "foreign file was modified"
expect_rc 2 "$PAGESIM" replay --db "$T/s.db" --run 999
grep -q "no run with id 999" "$T/out" || fail "missing run id not reported"
expect_rc 2 "$PAGESIM" replay --db "$T/s.db"
expect_rc 2 "$PAGESIM" replay --db "$T/s.db" --all --backend vmware
expect_rc 2 "$PAGESIM" replay --db "$T/s.db" --all --mutant no_such_bug

kvm_part() {
    # 2. can this machine create a KVM VM?
    "$PAGESIM" replay --db "$T/s.db" --all --bench >"$T/all.out" 2>&1; rc=$?
    if [ "$rc" = 3 ]; then
        grep -m1 '^hw-replay: SKIP' "$T/all.out" || echo "hw-replay: SKIP kvm: backend unavailable"
        return 0
    fi
    [ "$rc" = 0 ] || [ "$rc" = 1 ] || { cat "$T/all.out"; fail "replay --all exited $rc"; }
    grep -v '^known\|^  kvm-\|^PASS\|^bench' "$T/all.out" | sed 's/^/  /'

    # 3. differences == expected
    sqlite3 "$T/s.db" "$q" >"$T/diffs.txt"
    grep -v '^#' tests/hwreplay/expected-diffs.txt >"$T/expected.txt"
    diff "$T/expected.txt" "$T/diffs.txt" >"$T/dd" \
      || { cat "$T/dd"; fail "KVM replay differences changed (expected: tests/hwreplay/expected-diffs.txt)"; }
    n=$(sqlite3 "$T/s.db" "select count(*) from hw_runs where status in ('pass','diff')")
    acc=$(sqlite3 "$T/s.db" "select sum(compared) || ' compared (cpl0 ' || sum(cpl0) || ', cpl3 ' || sum(cpl3) || ')' from hw_runs")
    [ "$n" = "$(sqlite3 "$T/s.db" 'select count(*) from runs')" ] || fail "not every run was replayed"
    echo "hwreplay: KVM: $n runs replayed, accesses $acc, $(wc -l <"$T/diffs.txt") differences = expected"
    grep '^bench:' "$T/all.out" | sed 's/^/hwreplay: KVM: /'
    # a VM kept for the next access (nothing in guest memory to change)
    # must see what a fresh VM sees: the same differences with --fresh-vm
    grep -q '^bench:.* [1-9][0-9]* reused' "$T/all.out" || fail "no VM was reused"
    # (on the runs with the most accesses kept for the next one: a fresh VM
    # for each of the suite's accesses took a minute)
    cp "$T/q.db" "$T/fv.db"
    fv="scenarios/tlb/random_stale.lua scenarios/shadow/pf_codes.lua scenarios/p2m/access.lua
        scenarios/vm_event/black_eye.lua scenarios/walk/pf_error_codes.lua tests/hwreplay/cpl3_walk.lua"
    for sc in $fv; do
        id=$(sqlite3 "$T/fv.db" "select id from runs where scenario = '$sc'")
        [ -n "$id" ] || fail "no run of $sc for the fresh-VM replay"
        "$PAGESIM" replay --db "$T/fv.db" --run "$id" --fresh-vm >/dev/null 2>&1
    done
    pat=$(echo $fv | sed 's/ /|\\|^/g; s/^/^/; s/$/|/')
    grep "$pat" "$T/diffs.txt" >"$T/fv-expected.txt"
    sqlite3 "$T/fv.db" "$q" | diff "$T/fv-expected.txt" - >"$T/dd" \
      || { cat "$T/dd"; fail "a reused VM and a fresh VM per access disagree"; }
    echo "hwreplay: KVM: reused VMs give the same differences as a fresh VM per access ($(wc -w <<<"$fv") runs, $(wc -l <"$T/fv-expected.txt") differences)"

    # 4. mutants are caught by replay
    # Each mutant is replayed on one run it is known to change (a whole
    # --all replay per mutant took about 30 s each): it must give more
    # unexplained differences there than the unmutated replay.
    for m in no_dirty_bit:walk/two_domains_write ignore_wp:walk/pf_error_codes \
             ld_fault_no_mark:logdirty/mark_dirty_on_write logdirty_writable:logdirty/clean_on_remove \
             smap_ignore_ac:walk/smep_smap_pk large_pat_addr:shadow/ram; do
        mut=${m%%:*} sc=${m#*:}
        cp "$T/q.db" "$T/m.db"
        id=$(sqlite3 "$T/m.db" "select id from runs where scenario = 'scenarios/$sc.lua'")
        [ -n "$id" ] || fail "no run of scenarios/$sc.lua for mutant $mut"
        "$PAGESIM" replay --db "$T/m.db" --run "$id" --mutant "$mut" >"$T/m.out" 2>&1
        new=$(sqlite3 "$T/m.db" "select count(*) from hw_diffs d join hw_runs h on h.id = d.hw_run_id
                where h.mutants like '%$mut%' and d.known is null")
        base=$(grep "^scenarios/$sc.lua|" "$T/diffs.txt" | grep -c '|-$')
        [ "$new" -gt "$base" ] || fail "mutant $mut not caught by the KVM replay of $sc.lua"
        echo "hwreplay: KVM: mutant $mut caught in $sc.lua: $new unexplained differences ($base without it)"
    done

    # mem paging: accesses the model paused for the pager are replayed with
    # their retry, paged-out gfns as userfaultfd pages; the fault order must
    # equal the populate requests, and a model whose requests name the
    # wrong gfn is caught by exactly that comparison
    uf=$(sqlite3 "$T/s.db" "select count(*) || ' accesses with userfaultfd, ' ||
            sum(faults != 'none') || ' with faults' from hw_uffd")
    ns=$(sqlite3 "$T/s.db" "select count(*) from hw_skips where reason like '%pager%'")
    [ "$ns" = 0 ] || fail "$ns accesses paused for the pager were skipped"
    [ "$(sqlite3 "$T/s.db" "select count(*) from hw_uffd where faults != 'none'")" -ge 5 ] \
      || fail "mem paging accesses were not replayed with userfaultfd ($uf)"
    echo "hwreplay: KVM: mem paging: $uf, fault order = populate requests"
    cp "$T/q.db" "$T/m.db"
    id=$(sqlite3 "$T/m.db" "select id from runs where scenario = 'tests/hwreplay/paging_uffd.lua'")
    "$PAGESIM" replay --db "$T/m.db" --run "$id" --mutant populate_gfn_aligned >"$T/m.out" 2>&1
    new=$(sqlite3 "$T/m.db" "select count(*) from hw_diffs where field = 'uffd_order'")
    [ "$new" -gt 0 ] || fail "mutant populate_gfn_aligned not caught by the userfaultfd order"
    echo "hwreplay: KVM: mutant populate_gfn_aligned caught: $new userfaultfd orders differ"

    # 5. a hanging guest ends its replay within the bound
    "$PAGESIM" run --db "$T/h.db" tests/hwreplay/hang.lua >/dev/null || fail "recording hang.lua failed"
    before=$(sqlite3 "$T/h.db" 'select count(*) from steps')
    start=$(date +%s)
    expect_rc 1 "$PAGESIM" replay --db "$T/h.db" --all --timeout 300
    [ $(( $(date +%s) - start )) -le 5 ] || fail "hang not bounded"
    grep -q 'ERROR kvm run 1' "$T/out" && grep -q 'did not finish within 300 ms' "$T/out" \
      || { cat "$T/out"; fail "hang not reported"; }
    [ "$(sqlite3 "$T/h.db" "select status from hw_runs")" = error ] || fail "hang not recorded as error"
    [ "$(sqlite3 "$T/h.db" 'select count(*) from steps')" = "$before" ] || fail "recorded steps changed"
    echo "hwreplay: KVM: hanging guest stopped after 300 ms, recorded as error"

    # features the backend lacks: SKIP with the reason
    "$PAGESIM" run --db "$T/f.db" tests/hwreplay/features.lua >/dev/null || fail "recording features.lua failed"
    expect_rc 0 "$PAGESIM" replay --db "$T/f.db" --all
    [ "$(sqlite3 "$T/f.db" "select count(*) from hw_skips where reason like 'CR4.PCIDE%' or reason like 'CR4.PKE%' or reason like 'CR4.LA57%'")" = 3 ] \
      || fail "unavailable features not skipped with their reason"
    echo "hwreplay: KVM: CR4.PCIDE, CR4.PKE, CR4.LA57 accesses skipped with their reasons"
    # 32-bit and PAE paging: kvm-pvm pages only in long mode (probed: CR0.PG
    # with EFER.LME=0 shuts the vCPU down), so those accesses are SKIPs
    n32=$(sqlite3 "$T/s.db" "select count(*) from hw_skips where reason like '32-bit paging: kvm-pvm%'")
    npae=$(sqlite3 "$T/s.db" "select count(*) from hw_skips where reason like 'PAE paging: kvm-pvm%'")
    [ "$n32" -gt 0 ] && [ "$npae" -gt 0 ] || fail "32-bit/PAE accesses not skipped with their reason on KVM"
    echo "hwreplay: KVM: $n32 32-bit and $npae PAE paging accesses skipped (kvm-pvm pages only in long mode)"
    ni=$(sqlite3 "$T/s.db" "select count(*) from hw_skips where reason like 'implicit supervisor reads on KVM here%'")
    [ "$ni" -gt 0 ] || fail "implicit supervisor reads not skipped with their reason on KVM"
    [ "$(sqlite3 "$T/s.db" "select count(*) from hw_skips where reason like 'CR4.PKS: KVM here%'")" -gt 0 ] \
      || fail "CR4.PKS accesses not skipped with their reason on KVM"

    # calibration: KVM measured beside the model's prediction, in the
    # database (a small sweep: 16 and 256 pages)
    cp "$T/q.db" "$T/c.db"
    expect_rc 0 "$PAGESIM" replay --calibrate --max-pages 256 --db "$T/c.db" \
        --csv "$T/c.csv" --svg "$T/c.svg"
    [ "$(sqlite3 "$T/c.db" "select count(*) from hw_calibration
          where ns_measured > 0 and ns_predicted > 0 and model_cycles > 0")" = 8 ] \
      || { cat "$T/out"; fail "calibration rows missing from hw_calibration"; }
    # the model must see the 256-page set miss its L1 TLB (STLB hits cost more)
    [ "$(sqlite3 "$T/c.db" "select (select model_cycles from hw_calibration where pages = 256
          and pattern = 'seq' and op = 'read') > (select model_cycles from hw_calibration
          where pages = 16 and pattern = 'seq' and op = 'read')")" = 1 ] \
      || fail "the model predicts no cost for leaving the L1 TLB"
    [ "$(grep -c 'stroke-dasharray' "$T/c.svg")" = 4 ] || fail "no predicted series in the SVG"
    [ "$(wc -l <"$T/c.csv")" = 9 ] || fail "calibration CSV incomplete"
    expect_rc 2 "$PAGESIM" replay --calibrate --profile pentium
    grep -q "unknown CPU profile 'pentium'" "$T/out" || fail "bad --profile not named"
    echo "hwreplay: KVM: calibration: 8 patterns measured and predicted ($(sqlite3 "$T/c.db" \
        "select profile || ', 1M seq read: ' || round(ns_measured, 2) || ' ns measured, ' ||
         round(ns_predicted, 2) || ' ns predicted' from hw_calibration where pages = 256
         and pattern = 'seq' and op = 'read'")), in hw_calibration"

    # 6. stale recording
    "$PAGESIM" run --db "$T/st.db" scenarios/walk/accessed_dirty.lua >/dev/null
    sqlite3 "$T/st.db" "update runs set digest = '0000000000000000'"
    expect_rc 1 "$PAGESIM" replay --db "$T/st.db" --all
    grep -q 'recording is stale' "$T/out" || fail "stale recording not reported"
    echo "hwreplay: KVM: stale recording reported"
    # 6b. a run recorded with --hap npt (runs.hap) is re-run as NPT: not
    # stale (its digest differs from the EPT run's, so ignoring runs.hap
    # would make it stale)
    "$PAGESIM" run --db "$T/npt.db" --hap npt scenarios/logdirty/mark_dirty_on_write.lua >/dev/null
    "$PAGESIM" run --db "$T/npt.db" scenarios/logdirty/mark_dirty_on_write.lua >/dev/null
    [ "$(sqlite3 "$T/npt.db" "select count(distinct digest) || coalesce(group_concat(hap), '')
        from runs")" = 2npt ] || fail "--hap npt not recorded in runs.hap"
    expect_rc 0 "$PAGESIM" replay --db "$T/npt.db" --all
    grep -q '2 pass, 0 diff, 0 error, 0 stale' "$T/out" || { sed 's/^/  | /' "$T/out"; \
        fail "a --hap npt run does not replay as recorded"; }
    echo "hwreplay: KVM: a --hap npt recording replays as NPT (not stale)"
}

qemu_part() {
    # 7. QEMU TCG
    cp "$T/q.db" "$T/qm.db"
    "$PAGESIM" replay --db "$T/q.db" --all --backend qemu >"$T/q.out" 2>&1; rc=$?
    if [ "$rc" = 3 ]; then
        grep -m1 '^hw-replay: SKIP' "$T/q.out" || echo "hw-replay: SKIP qemu: backend unavailable"
        return 0
    fi
    [ "$rc" = 0 ] || [ "$rc" = 1 ] || { cat "$T/q.out"; fail "replay --backend qemu exited $rc"; }
    grep '^hw-replay qemu' "$T/q.out" | sed 's/^/  /'
    sqlite3 "$T/q.db" "$q" >"$T/qdiffs.txt"
    grep -v '^#' tests/hwreplay/expected-diffs-qemu.txt >"$T/qexpected.txt"
    diff "$T/qexpected.txt" "$T/qdiffs.txt" >"$T/qd" \
      || { cat "$T/q.out" "$T/qd"; fail "QEMU replay differences changed (expected: tests/hwreplay/expected-diffs-qemu.txt)"; }
    echo "hwreplay: QEMU TCG: $(wc -l <"$T/qdiffs.txt") differences = expected ($(grep -c '|-$' "$T/qdiffs.txt") model gaps, the rest known QEMU behaviours)"
    # what KVM here lacks, TCG has: PCID, PKU (wrpkru), LA57 are replayed
    "$PAGESIM" run --db "$T/qf.db" tests/hwreplay/features.lua >/dev/null || fail "recording features.lua failed"
    expect_rc 0 "$PAGESIM" replay --db "$T/qf.db" --all --backend qemu
    [ "$(sqlite3 "$T/qf.db" "select sum(compared) || '/' || sum(skipped) from hw_runs")" = 4/0 ] \
      || { cat "$T/out"; fail "CR4.PCIDE/PKE/LA57 accesses not replayed on QEMU"; }
    echo "hwreplay: QEMU TCG: CR4.PCIDE, CR4.PKE (PKRU), CR4.LA57 accesses replayed"
    # 32-bit (4 MiB pages) and PAE paging: stub32.S, every access of
    # legacy_user.lua compared (CPL0 and CPL3)
    lg=$(sqlite3 "$T/q.db" "select h.compared || '/' || h.skipped || '/' || h.cpl3 from hw_runs h
           join runs r on r.id = h.run_id where r.scenario like '%/legacy_user.lua'")
    [ "${lg%%/*}" -ge 30 ] && [ "$(echo "$lg" | cut -d/ -f2)" = 0 ] \
      || fail "32-bit/PAE accesses of legacy_user.lua not all replayed on QEMU ($lg)"
    echo "hwreplay: QEMU TCG: 32-bit and PAE paging: legacy_user.lua compared/skipped/cpl3 = $lg"
    # CR4.PKS (IA32_PKRS) is replayed on QEMU
    [ "$(sqlite3 "$T/q.db" "select count(*) from hw_skips where reason like 'CR4.PKS%'")" = 0 ] \
      || fail "CR4.PKS accesses skipped on QEMU"
    # implicit supervisor reads (LAR through an LDT at the gva) are replayed
    # on QEMU; on KVM here they are skipped with the reason
    [ "$(sqlite3 "$T/q.db" "select count(*) from hw_skips where reason like 'implicit%'")" = 0 ] \
      || fail "implicit supervisor reads skipped on QEMU"
    echo "hwreplay: QEMU TCG: implicit supervisor reads replayed ($(sqlite3 "$T/q.db" \
        "select count(*) from hw_diffs where access like 'implicit-read%'") differences, all known)"
    # MMIO on QEMU: the domain's MMIO gfns at 256 MiB and above are
    # unassigned on the QEMU machine too; below, QEMU has RAM: skipped
    "$PAGESIM" run --db "$T/qmm.db" tests/hwreplay/mmio_qemu.lua >/dev/null || fail "recording mmio_qemu.lua failed"
    cp "$T/qmm.db" "$T/qmm2.db"
    expect_rc 0 "$PAGESIM" replay --db "$T/qmm.db" --all --backend qemu
    mm=$(sqlite3 "$T/qmm.db" "select compared || '/' || skipped || '/' || diffs || '/' || known from hw_runs")
    [ "$mm" = 10/1/0/4 ] || { cat "$T/out"; fail "MMIO on QEMU: compared/skipped/diffs/known $mm, expected 10/1/0/4"; }
    [ "$(sqlite3 "$T/qmm.db" "select count(*) from hw_diffs where known = 'qemu-unassigned-reads-zero'")" = 4 ] \
      || fail "MMIO reads on QEMU not compared"
    "$PAGESIM" replay --db "$T/qmm2.db" --all --backend qemu --mutant emul_no_ad >/dev/null 2>&1
    new=$(sqlite3 "$T/qmm2.db" "select count(*) from hw_diffs where known is null")
    [ "$new" -gt 0 ] || fail "mutant emul_no_ad not caught by MMIO replay on QEMU"
    echo "hwreplay: QEMU TCG: MMIO at unassigned gpas: $mm (compared/skipped/diffs/known); mutant emul_no_ad caught: $new differences"
    for m in ignore_wp:pf_error_codes no_dirty_bit:two_domains_write pk_ignore_wd:smep_smap_pk \
             pae_ec_no_u:legacy_user pse_no_dirty:legacy_user; do
        mut=${m%%:*} sc=${m#*:}
        id=$(sqlite3 "$T/qm.db" "select id from runs where scenario like '%/$sc.lua'")
        "$PAGESIM" replay --db "$T/qm.db" --run "$id" --backend qemu --mutant "$mut" >/dev/null 2>&1
        new=$(sqlite3 "$T/qm.db" "select count(*) from hw_diffs d join hw_runs h on h.id = d.hw_run_id
                where h.mutants like '%$mut%' and d.known is null")
        base=$(grep "^scenarios/walk/$sc.lua|" "$T/qdiffs.txt" | grep -c '|-$')
        [ "$new" -gt "$base" ] || fail "mutant $mut not caught by the QEMU replay"
        echo "hwreplay: QEMU TCG: mutant $mut caught in $sc.lua: $new unexplained differences ($base without it)"
    done
}

summary() {
    # per scenario and backend: what was compared, what differed (unexplained
    # and known), what was skipped, and the userfaultfd orders checked
    local db
    for db in "$T/s.db" "$T/q.db"; do
        [ "$(sqlite3 "$db" "select count(*) from sqlite_master where name = 'hw_runs'")" = 1 ] || continue
        [ "$(sqlite3 "$db" "select count(*) from hw_runs")" -gt 0 ] || continue
        sqlite3 "$db" "select printf('hwreplay: summary %-4s %-46s %4d compared %3d diffs %3d known %3d skipped %2d uffd',
                h.backend, r.scenario, h.compared, h.diffs, h.known, h.skipped,
                (select count(*) from hw_uffd u where u.hw_run_id = h.id))
            from hw_runs h join runs r on r.id = h.run_id order by h.id"
        sqlite3 "$db" "select printf('hwreplay: summary %-4s %-46s %4d compared %3d diffs %3d known %3d skipped %2d uffd',
                backend, 'total', sum(compared), sum(diffs), sum(known), sum(skipped),
                (select count(*) from hw_uffd)) from hw_runs"
    done
}

kvm_part
qemu_part
summary
exit 0
