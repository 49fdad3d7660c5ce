#!/usr/bin/env bash
# `make npt`: existing scenario directories re-run with every domain that
# does not say otherwise made an NPT domain (pagesim run --hap npt), so the
# p2m-pt backend, the #NPF path and the oracle's NPT expectations meet the
# same operations the EPT configuration passes.  Left out, each for a
# reason that is about EPT, not a bug: logdirty/pml.lua,
# logdirty/pml_access.lua and logdirty/pml_superpage.lua (PML needs EPT:
# the domain{} is refused), tlb/pwc_amd.lua (its expect()s count the EPT
# walks a page-walk-cache hit saves; an NPT vCPU's guest walk is nested), tlb/psc_stale.lua (counts EPT paging-structure
# cache hits; the NPT model has none), tlb/pae_pdpte_registers.lua and
# tlb/psc_32bit_pae.lua (their expect()s count on the PAE PDPTE registers,
# which model and oracle keep under EPT only: AMD nested paging has none),
# walk/pae_mov_cr.lua (the same: which MOV CR0/CR4 loads them, and the #GP
# of a load), p2m/access.lua, p2m/superpages.lua
# and p2m/grant_foreign.lua (mem_access, EPT split shapes and foreign
# entries, which p2m-pt does not have: their expect()s are EPT's).  The
# NPT-only scenarios are scenarios/npt/ (in the default suite).
set -u
PAGESIM=${1:-./pagesim}
mapfile -t scen < <(find scenarios/logdirty scenarios/mempaging scenarios/regressions \
    scenarios/balloon scenarios/findings scenarios/walk scenarios/tlb -name '*.lua' \
    ! -name pml.lua ! -name pml_access.lua ! -name pml_superpage.lua \
    ! -name pwc_amd.lua ! -name psc_stale.lua \
    ! -name pae_pdpte_registers.lua ! -name psc_32bit_pae.lua ! -name pae_mov_cr.lua | sort)
scen+=(scenarios/p2m/ioreq_server.lua scenarios/p2m/pod.lua scenarios/p2m/ram_ro.lua)
out=$("$PAGESIM" run --no-db --hap npt "${scen[@]}" 2>&1)
rc=$?
echo "$out" | grep -Ev '^(PASS|    known finding)' 
last=$(echo "$out" | tail -1)
echo "npt: $last (${#scen[@]} scenarios under --hap npt)"
[ $rc = 0 ] && echo "$last" | grep -Eq '^[0-9]+ passed, 0 failed$' || { echo "npt: FAIL"; exit 1; }
# The flag is checked: a bad value is refused with exit 2.
"$PAGESIM" run --no-db --hap vmx scenarios/npt/ram_access.lua >/dev/null 2>&1
[ $? = 2 ] || { echo "npt: FAIL: --hap vmx not refused with exit 2"; exit 1; }
# Bad input names the file:line and the object.
T=$(mktemp -d /tmp/pagesim-npt.XXXXXX)
trap 'rm -rf "$T"' EXIT
bad() { # name lua-line expected-message
    printf -- '-- broken on line 2\n%s\n' "$2" >"$T/$1.lua"
    "$PAGESIM" run --no-db "$T/$1.lua" >"$T/$1.out" 2>&1 && { echo "npt: FAIL: $1 exited 0"; exit 1; }
    grep -q "$1.lua:2:.*$3" "$T/$1.out" || { cat "$T/$1.out"; echo "npt: FAIL: $1: no '$3' at file:line"; exit 1; }
}
bad hap_unknown 'domain{ name = "x", hap = "vmx" }' 'hap must be "ept" (Intel EPT), "npt" (AMD nested paging) or "none"'
bad hap_type 'domain{ name = "x", hap = 1 }' 'hap must be a string'
bad hap_pml 'domain{ name = "x", hap = "npt", dirty_tracking = "pml" }' 'no EPT A/D bits and no PML'
bad hap_raw 'local d = domain{ name = "x", hap = "npt" } d:ept_set_raw(0, 1, 0)' "domain 'x' uses hap = \"npt\""
bad hap_get 'local d = domain{ name = "x" } d:npt_get_raw(0, 1)' "domain 'x' uses hap = \"ept\""
echo "npt: ok"
