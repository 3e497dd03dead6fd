// data/tok_nfc.c: the conservative NFC check of data/tok_nfc.h.
#include "data/tok_nfc.h"

// nfc_yes_ranges, ccc_ranges: inclusive, ascending
// (tests/oracle/tok_nfc_gen.py).
#include "data/tok_nfc_table.inc"

static int qc_yes(uint32_t c) {
    size_t lo = 0, hi = sizeof nfc_yes_ranges / sizeof nfc_yes_ranges[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < nfc_yes_ranges[mid][0]) hi = mid;
        else if (c > nfc_yes_ranges[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static uint32_t ccc_of(uint32_t c) {
    size_t lo = 0, hi = sizeof ccc_ranges / sizeof ccc_ranges[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < ccc_ranges[mid][0]) hi = mid;
        else if (c > ccc_ranges[mid][1]) lo = mid + 1;
        else return ccc_ranges[mid][2];
    }
    return 0;
}

// Decode one UTF-8 sequence at s[0] (n >= 1 bytes left): its length, or 0
// when invalid (overlong, surrogate, out of range, truncated).
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    const unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) return *cp = c, 1;
    if ((c & 0xE0) == 0xC0) len = 2, v = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, v = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, v = c & 0x07, min = 0x10000;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

int cpr_tok_nfc_stable(const char *s, size_t n, uint32_t *bad_cp,
                       size_t *bad_at) {
    const unsigned char *u = (const unsigned char *)s;
    uint32_t last = 0; // combining class of the previous character
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) { // the common case: Yes, class 0
            last = 0;
            i++;
            continue;
        }
        uint32_t cp = 0;
        const size_t len = utf8_next(u + i, n - i, &cp);
        const uint32_t cc = len ? ccc_of(cp) : 0;
        if (!len || !qc_yes(cp) || (cc && last > cc)) {
            *bad_cp = len ? cp : 0xFFFFFFFFu;
            *bad_at = i;
            return -1;
        }
        last = cc;
        i += len;
    }
    return 0;
}
