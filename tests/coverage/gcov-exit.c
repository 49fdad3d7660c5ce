/* SPDX-License-Identifier: MIT */
/*
 * tests/coverage/gcov-exit.c - linked into ./pagesim by `make coverage`
 * only (-Wl,--wrap=_exit, tests/run-coverage.sh).
 *
 * pagesim runs every scenario, and every fuzz program, in a forked child
 * that ends with _exit() (sim/engine/main.c, fuzz.c): _exit() skips the
 * exit handlers, among them the one that writes gcov's .gcda counters, so
 * everything the children executed would count as never run.  The wrapper
 * writes the counters first (__gcov_dump(), GCC's public libgcov call).
 */
void __gcov_dump(void);
void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));

void __wrap__exit(int status)
{
    __gcov_dump();
    __real__exit(status);
}
