/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/fmt.h - step texts without the printf machinery.
 *
 * Every step's args and result are digested (engine.c record_step()), so
 * each op formats them even when nothing records the run; through
 * snprintf() that was about a thousand instructions per text, a tenth of
 * an op.  These write the same bytes as the printf conversions named, with
 * no terminator and no bound: the callers size their buffers for the
 * longest text (at most 20 digits a number, 18 characters a "%#" PRIx64).
 */
#ifndef PAGESIM_ENGINE_FMT_H
#define PAGESIM_ENGINE_FMT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* "%" PRIu64 of v, with a '-' first when neg ("%d" of -v). */
static inline char *put_dec(char *o, uint64_t v, bool neg)
{
    char t[24];
    unsigned n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    if (neg)
        *o++ = '-';
    while (n)
        *o++ = t[--n];
    return o;
}

/* "%d" */
static inline char *put_int(char *o, int v)
{
    return put_dec(o, v < 0 ? (uint64_t)-(int64_t)v : (uint64_t)v, v < 0);
}

/* "%#" PRIx64 (and "%#x"): "0" for 0, else "0x" and lower-case digits. */
static inline char *put_hex(char *o, uint64_t v)
{
    if (!v) {
        *o++ = '0';
        return o;
    }
    char t[16];
    unsigned n = 0;
    for (; v; v >>= 4)
        t[n++] = "0123456789abcdef"[v & 15];
    *o++ = '0';
    *o++ = 'x';
    while (n)
        *o++ = t[--n];
    return o;
}

/* "%s" */
static inline char *put_str(char *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(o, s, n);
    return o + n;
}

/* The end of an snprintf(buf, n, ...) whose text was built in t up to o:
 * copy what fits in n bytes (less one) and terminate; nothing when n is 0. */
static inline void put_finish(char *buf, size_t n, const char *t, const char *o)
{
    size_t len = (size_t)(o - t);
    if (!n)
        return;
    if (len >= n)
        len = n - 1;
    memcpy(buf, t, len);
    buf[len] = 0;
}

#endif /* PAGESIM_ENGINE_FMT_H */
