// data/tok_pretok.c: byte-level BPE pre-tokenization (tok_pretok.h).
//
// Each regex is evaluated the way a backtracking engine evaluates its
// alternation: at the current position try the alternatives in order and
// take the first that matches; within an alternative, greedy quantifiers
// with the backtracking that can change the result worked out by hand
// (comments at each). Decoding is on the fly: no copy of the text.
#include "data/tok_pretok.h"

#include <string.h>

#include "data/tok_unicode_tables.inc"

static int in_ranges(const uint32_t (*r)[2], size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid][0]) hi = mid;
        else if (cp > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

enum cpr_tok_uclass cpr_tok_uclass(uint32_t cp) {
    if (cp < 0x80) { // fast path
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
            return CPR_TOK_UC_LETTER;
        if (cp >= '0' && cp <= '9') return CPR_TOK_UC_NUMBER;
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CPR_TOK_UC_SPACE;
        return CPR_TOK_UC_OTHER;
    }
    if (cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
        (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
        cp == 0x202F || cp == 0x205F || cp == 0x3000)
        return CPR_TOK_UC_SPACE;
    if (in_ranges(letter_ranges, sizeof letter_ranges / sizeof letter_ranges[0], cp))
        return CPR_TOK_UC_LETTER;
    if (in_ranges(number_ranges, sizeof number_ranges / sizeof number_ranges[0], cp))
        return CPR_TOK_UC_NUMBER;
    return CPR_TOK_UC_OTHER;
}

static const char GPT2_PAT[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"
    "\\s+(?!\\S)|\\s+";
static const char LLAMA3_PAT[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char QWEN2_PAT[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

enum cpr_tok_regex cpr_tok_regex_find(const char *p, size_t len) {
    if (len == sizeof GPT2_PAT - 1 && memcmp(p, GPT2_PAT, len) == 0)
        return CPR_TOK_REGEX_GPT2;
    if (len == sizeof LLAMA3_PAT - 1 && memcmp(p, LLAMA3_PAT, len) == 0)
        return CPR_TOK_REGEX_LLAMA3;
    if (len == sizeof QWEN2_PAT - 1 && memcmp(p, QWEN2_PAT, len) == 0)
        return CPR_TOK_REGEX_QWEN2;
    return CPR_TOK_REGEX_NONE;
}

const char *cpr_tok_regex_pattern(enum cpr_tok_regex re) {
    switch (re) {
    case CPR_TOK_REGEX_GPT2: return GPT2_PAT;
    case CPR_TOK_REGEX_LLAMA3: return LLAMA3_PAT;
    case CPR_TOK_REGEX_QWEN2: return QWEN2_PAT;
    default: return "";
    }
}

// Decode the character at s[i] (i < n): its code point in *cp, its length
// returned. Invalid UTF-8: one byte, code point 0xFFFFFFFF (class other).
static size_t dec(const char *str, size_t n, size_t i, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[i];
    size_t k;
    uint32_t v;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) k = 2, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, v = c & 0x07;
    else { *cp = 0xFFFFFFFFu; return 1; }
    if (i + k > n) { *cp = 0xFFFFFFFFu; return 1; }
    for (size_t j = 1; j < k; j++) {
        if ((s[i + j] & 0xC0) != 0x80) { *cp = 0xFFFFFFFFu; return 1; }
        v = (v << 6) | (s[i + j] & 0x3F);
    }
    if ((k == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
        (k == 4 && (v < 0x10000 || v > 0x10FFFF))) {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    *cp = v;
    return k;
}

static enum cpr_tok_uclass cls_at(const char *s, size_t n, size_t i,
                                  uint32_t *cp, size_t *len) {
    *len = dec(s, n, i, cp);
    return *cp == 0xFFFFFFFFu ? CPR_TOK_UC_OTHER : cpr_tok_uclass(*cp);
}

// End of the run of characters of class c starting at i (at most max
// characters when max > 0).
static size_t run(const char *s, size_t n, size_t i, enum cpr_tok_uclass c,
                  int max) {
    int k = 0;
    while (i < n && (max <= 0 || k < max)) {
        uint32_t cp;
        size_t l;
        if (cls_at(s, n, i, &cp, &l) != c) break;
        i += l;
        k++;
    }
    return i;
}

// 's 't 're 've 'm 'll 'd at s[0] == '\''; ci: case-insensitive. Returns
// the match length or 0.
static size_t contraction(const char *s, size_t n, int ci) {
    static const char *const suf[] = {"s", "t", "re", "ve", "m", "ll", "d"};
    for (int k = 0; k < 7; k++) {
        size_t i = 1, j = 0;
        for (; suf[k][j]; j++) {
            if (i >= n) break;
            unsigned char c = (unsigned char)s[i];
            if (c == (unsigned char)suf[k][j] ||
                (ci && c == (unsigned char)suf[k][j] - 32)) {
                i++;
                continue;
            }
            // U+017F LATIN SMALL LETTER LONG S case-folds to 's'
            if (ci && suf[k][j] == 's' && i + 1 < n &&
                (unsigned char)s[i] == 0xC5 && (unsigned char)s[i + 1] == 0xBF) {
                i += 2;
                continue;
            }
            break;
        }
        if (!suf[k][j]) return i;
    }
    return 0;
}

// \s+(?!\S)|\s+ at a whitespace character: the whole run when it reaches
// the end of the text, else the run minus its last character (so that the
// lookahead sees whitespace), else (a run of one) that one character.
static size_t spaces(const char *s, size_t n, size_t i) {
    size_t j = i, last = i;
    while (j < n) {
        uint32_t cp;
        size_t l;
        if (cls_at(s, n, j, &cp, &l) != CPR_TOK_UC_SPACE) break;
        last = j;
        j += l;
    }
    if (j == n || last == i) return j - i;
    return last - i;
}

static size_t next_gpt2(const char *s, size_t n) {
    if (s[0] == '\'') {
        size_t c = contraction(s, n, 0);
        if (c) return c;
    }
    // " ?X+" for X in L, N, [^\s L N]: the optional space is taken only
    // when an X follows (otherwise the alternative fails at the space).
    size_t p = s[0] == ' ' && n > 1 ? 1 : 0;
    uint32_t cp;
    size_t l;
    enum cpr_tok_uclass c = cls_at(s, n, p, &cp, &l);
    if (c != CPR_TOK_UC_SPACE) return run(s, n, p, c, 0);
    // here s[p] is whitespace, so p == 0 (" " followed by whitespace)
    return spaces(s, n, 0);
}

static size_t next_llama3(const char *s, size_t n, int max_digits) {
    if (s[0] == '\'') {
        size_t c = contraction(s, n, 1);
        if (c) return c;
    }
    uint32_t cp, cp2;
    size_t l, l2;
    enum cpr_tok_uclass c = cls_at(s, n, 0, &cp, &l);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (c == CPR_TOK_UC_LETTER) return run(s, n, 0, c, 0);
    if (c != CPR_TOK_UC_NUMBER && cp != '\r' && cp != '\n' && l < n &&
        cls_at(s, n, l, &cp2, &l2) == CPR_TOK_UC_LETTER)
        return run(s, n, l, CPR_TOK_UC_LETTER, 0);
    // \p{N}{1,3}
    if (c == CPR_TOK_UC_NUMBER) return run(s, n, 0, c, max_digits);
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    size_t p = 0;
    if (cp == ' ' && l < n && cls_at(s, n, l, &cp2, &l2) == CPR_TOK_UC_OTHER) p = 1;
    if (p == 1 || c == CPR_TOK_UC_OTHER) {
        size_t e = run(s, n, p, CPR_TOK_UC_OTHER, 0);
        while (e < n && (s[e] == '\r' || s[e] == '\n')) e++;
        return e;
    }
    // c is whitespace. \s*[\r\n]+: \s* backtracks to the last \r or \n of
    // the whitespace run, and [\r\n]+ then takes just that one.
    size_t j = 0, nl = (size_t)-1;
    while (j < n) {
        size_t lj;
        if (cls_at(s, n, j, &cp2, &lj) != CPR_TOK_UC_SPACE) break;
        if (cp2 == '\r' || cp2 == '\n') nl = j;
        j += lj;
    }
    if (nl != (size_t)-1) return nl + 1;
    return spaces(s, n, 0);
}

size_t cpr_tok_regex_next(enum cpr_tok_regex re, const char *s, size_t n) {
    switch (re) {
    case CPR_TOK_REGEX_GPT2: return next_gpt2(s, n);
    case CPR_TOK_REGEX_LLAMA3: return next_llama3(s, n, 3);
    case CPR_TOK_REGEX_QWEN2: return next_llama3(s, n, 1);
    default: return n;
    }
}

void cpr_tok_byte_map(uint32_t map[256], char utf8[256][2],
                      uint8_t utf8_len[256]) {
    uint32_t extra = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                        (b >= 0xAE && b <= 0xFF);
        map[b] = printable ? (uint32_t)b : 256 + extra++;
    }
    for (int b = 0; b < 256; b++) {
        uint32_t u = map[b];
        if (u < 0x80) {
            utf8[b][0] = (char)u;
            utf8_len[b] = 1;
        } else { // < 0x800 always (at most U+0143)
            utf8[b][0] = (char)(0xC0 | (u >> 6));
            utf8[b][1] = (char)(0x80 | (u & 0x3F));
            utf8_len[b] = 2;
        }
    }
}
