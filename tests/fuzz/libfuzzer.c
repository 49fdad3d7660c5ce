/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/libfuzzer.c - libFuzzer entry point (make fuzz-libfuzzer).
 *
 * Structure-aware: the input bytes are decoded into a program of
 * operations by the same generator `pagesim fuzz` uses
 * (fuzz_program_from_bytes: two bytes per choice), which runs through the
 * same sandbox, engine and oracle.  A divergence, a failed expectation or a
 * scenario error aborts, after printing the Lua reproducer, so libFuzzer
 * saves the input as crash-<hash>; ASan/UBSan reports abort on their own.
 * Replay a saved input with: build-lf/pagesim-libfuzzer crash-<hash>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sim/engine/fuzz.h"
#include "../../sim/engine/lapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4096)
        return -1; /* not added to the corpus */
    char *text = fuzz_program_from_bytes(data, size, 200);
    struct run_opts o = { .seed = 1, .instr_budget = 50000000 };
    struct run_result r;
    lapi_run_string("libfuzzer-input.lua", text, &o, &r);
    if (strcmp(r.status, "pass")) {
        fprintf(stderr, "pagesim libfuzzer: %s: %s\n--- reproducer ---\n%s--- end ---\n",
                r.status, r.message, text);
        free(text);
        abort();
    }
    free(text);
    return 0;
}
