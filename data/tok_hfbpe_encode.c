// data/tok_hfbpe_encode.c: encoding with a tokenizer.json BPE tokenizer
// (the pipeline of data/tok_hfbpe.h, as Hugging Face tokenizers runs it).
//
// Speed: one pass over the text; each word's merges use a heap ordered by
// (rank asc, position asc), entries made stale by earlier merges skipped
// when popped (tokenizers' Word::merge_all), so a word of k symbols costs
// O(k log k). Buffers are reused across words.
#include <stdlib.h>
#include <string.h>

#include "data/tok_hfbpe.h"
#include "data/tok_nfc.h"
#include "data/tokenizer.h"

struct cand {
    int32_t rank, pos, next, ta, tb, id;
};

static int before(const struct cand *x, const struct cand *y) {
    return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}

// Growable buffers reused for every word.
struct enc {
    const struct cpr_hfbpe *b;
    const char *source;
    int32_t *out;  // the ids so far
    size_t n_out, cap_out;
    int32_t *tok, *next, *prev; // symbols of the current word
    uint8_t *alive;
    size_t cap_sym;
    struct cand *heap;
    size_t n_heap, cap_heap;
    char *buf;     // normalized section / mapped word
    size_t cap_buf;
    char *buf2;
    size_t cap_buf2;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int emit(struct enc *e, int32_t id) {
    if (grow((void **)&e->out, &e->cap_out, e->n_out + 1, sizeof(int32_t))) return -1;
    e->out[e->n_out++] = id;
    return 0;
}

static int heap_push(struct enc *e, struct cand c) {
    if (grow((void **)&e->heap, &e->cap_heap, e->n_heap + 1, sizeof c)) return -1;
    size_t i = e->n_heap++;
    while (i > 0 && before(&c, &e->heap[(i - 1) / 2])) {
        e->heap[i] = e->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    e->heap[i] = c;
    return 0;
}

// Put x at hole i and sift it down within the first n entries.
static void sift_down(struct cand *h, size_t n, size_t i, struct cand x) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct cand *best = &x;
        if (l < n && before(&h[l], best)) m = l, best = &h[l];
        if (r < n && before(&h[r], best)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static struct cand heap_pop(struct enc *e) {
    struct cand top = e->heap[0], last = e->heap[--e->n_heap];
    if (e->n_heap) sift_down(e->heap, e->n_heap, 0, last);
    return top;
}

static int push_pair(struct enc *e, int32_t m, int32_t a) {
    int32_t c = e->next[a];
    if (c >= m) return 0;
    int32_t rank, id;
    if (!cpr_hfbpe_merge_find(e->b, e->tok[a], e->tok[c], &rank, &id)) return 0;
    struct cand x = {rank, a, c, e->tok[a], e->tok[c], id};
    return heap_push(e, x);
}

// Merge the symbols e->tok[s..t) and append the result to the output.
static int merge_range(struct enc *e, int32_t s, int32_t t) {
    e->n_heap = 0;
    for (int32_t i = s; i < t; i++) {
        e->next[i] = i + 1;
        e->prev[i] = i - 1;
        e->alive[i] = 1;
    }
    // initial candidates appended unordered, then heapified bottom-up in
    // O(n) (the pop order only depends on the strict (rank, pos) order)
    for (int32_t i = s; i + 1 < t; i++) {
        int32_t c = i + 1, rank, id;
        if (!cpr_hfbpe_merge_find(e->b, e->tok[i], e->tok[c], &rank, &id)) continue;
        if (grow((void **)&e->heap, &e->cap_heap, e->n_heap + 1, sizeof(struct cand)))
            return -1;
        struct cand x = {rank, i, c, e->tok[i], e->tok[c], id};
        e->heap[e->n_heap++] = x;
    }
    for (size_t i = e->n_heap / 2; i-- > 0;)
        sift_down(e->heap, e->n_heap, i, e->heap[i]);
    while (e->n_heap) {
        struct cand c = heap_pop(e);
        if (!e->alive[c.pos] || !e->alive[c.next] || e->next[c.pos] != c.next ||
            e->tok[c.pos] != c.ta || e->tok[c.next] != c.tb)
            continue;
        e->tok[c.pos] = c.id;
        e->alive[c.next] = 0;
        e->next[c.pos] = e->next[c.next];
        if (e->next[c.next] < t) e->prev[e->next[c.next]] = c.pos;
        if (e->prev[c.pos] >= s && push_pair(e, t, e->prev[c.pos])) return -1;
        if (push_pair(e, t, c.pos)) return -1;
    }
    for (int32_t i = s; i < t; i++)
        if (e->alive[i] && emit(e, e->tok[i])) return -1;
    return 0;
}

// Can a merge ever join symbol ids x and y (see cpr_hfbpe.pairs)?
static int joinable(const struct cpr_hfbpe *b, int32_t x, int32_t y) {
    const unsigned char *px = (const unsigned char *)b->piece[x];
    const unsigned char *py = (const unsigned char *)b->piece[y];
    size_t nx = b->piece_len[x], ny = b->piece_len[y], l;
    if (!px || !py || !nx || !ny) return 1;
    size_t k = nx - 1;
    while (k > 0 && (px[k] & 0xC0) == 0x80) k--; // start of the last char
    return cpr_hfbpe_pair_seen(b, cpr_hfbpe_cp_at(px + k, nx - k, &l),
                               cpr_hfbpe_cp_at(py, ny, &l));
}

// Merge e->tok[0..m), cut where no merge can ever join two neighbours.
static int merge_and_emit(struct enc *e, int32_t m) {
    int32_t s = 0;
    for (int32_t i = 0; i + 1 < m; i++)
        if (!joinable(e->b, e->tok[i], e->tok[i + 1])) {
            if (merge_range(e, s, i + 1)) return -1;
            s = i + 1;
        }
    return merge_range(e, s, m);
}

static int ensure_sym(struct enc *e, size_t n) {
    size_t c1 = e->cap_sym, c2 = e->cap_sym, c3 = e->cap_sym, c4 = e->cap_sym;
    if (n <= e->cap_sym) return 0;
    if (grow((void **)&e->tok, &c1, n, sizeof(int32_t)) ||
        grow((void **)&e->next, &c2, n, sizeof(int32_t)) ||
        grow((void **)&e->prev, &c3, n, sizeof(int32_t)) ||
        grow((void **)&e->alive, &c4, n, 1))
        return -1;
    e->cap_sym = c1 < c2 ? c1 : c2;
    e->cap_sym = e->cap_sym < c3 ? e->cap_sym : c3;
    e->cap_sym = e->cap_sym < c4 ? e->cap_sym : c4;
    return 0;
}

// BPE on one word (its vocabulary-form string w of n bytes). bytes: the
// word's raw bytes for byte-level (one symbol per byte), else NULL (one
// symbol per UTF-8 character). Returns -1 on out of memory.
static int bpe_word(struct enc *e, const char *w, size_t n, const char *bytes,
                    size_t n_bytes) {
    const struct cpr_hfbpe *b = e->b;
    if (!n) return 0;
    if (b->ignore_merges) {
        int32_t id = cpr_hfbpe_vocab_find(b, w, n);
        if (id >= 0) return emit(e, id);
    }
    if (ensure_sym(e, (bytes ? n_bytes : n) + 1)) return -1;
    int32_t m = 0;
    int unk_run = 0; // the previous symbol is an unk that may absorb more
    if (bytes) {
        for (size_t i = 0; i < n_bytes; i++) {
            int32_t id = b->byte_sym[(unsigned char)bytes[i]];
            if (id >= 0) { e->tok[m++] = id; unk_run = 0; }
            else if (b->unk_id >= 0 && !(b->fuse_unk && unk_run)) {
                e->tok[m++] = b->unk_id;
                unk_run = 1;
            }
        }
        return merge_and_emit(e, m);
    }
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && ((unsigned char)w[j] & 0xC0) == 0x80 && j - i < 4) j++;
        int32_t id = cpr_hfbpe_vocab_find(b, w + i, j - i);
        if (id >= 0) {
            e->tok[m++] = id;
            unk_run = 0;
        } else {
            int all = b->byte_fallback;
            for (size_t q = i; q < j && all; q++) all = b->byte_id[(unsigned char)w[q]] >= 0;
            if (all) {
                for (size_t q = i; q < j; q++) e->tok[m++] = b->byte_id[(unsigned char)w[q]];
                unk_run = 0;
            } else if (b->unk_id >= 0 && !(b->fuse_unk && unk_run)) {
                e->tok[m++] = b->unk_id;
                unk_run = 1;
            } // no unk token: the character is dropped, as tokenizers does
        }
        i = j;
    }
    return merge_and_emit(e, m);
}

// Step 4 + 5 on one piece p[0..n) of normalized text. at_start: the piece
// begins at offset 0 of the original text (Metaspace prepend "first").
static int pretok_piece(struct enc *e, const char *p, size_t n, int at_start) {
    const struct cpr_hfbpe *b = e->b;
    if (b->pre == CPR_HF_PRE_NONE) return bpe_word(e, p, n, NULL, 0);
    if (b->pre == CPR_HF_PRE_METASPACE) {
        size_t sp = 0;
        for (size_t i = 0; i < n; i++) sp += p[i] == ' ';
        if (grow((void **)&e->buf2, &e->cap_buf2, n + 2 * sp + 4, 1)) return -1;
        size_t o = 0;
        int starts = n >= 3 && memcmp(p, CPR_TOK_SPACE_MARK, 3) == 0;
        starts |= n >= 1 && p[0] == ' ';
        if (!starts && (b->ms_prepend == CPR_HF_PREPEND_ALWAYS ||
                        (b->ms_prepend == CPR_HF_PREPEND_FIRST && at_start)))
            memcpy(e->buf2, CPR_TOK_SPACE_MARK, 3), o = 3;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == ' ') memcpy(e->buf2 + o, CPR_TOK_SPACE_MARK, 3), o += 3;
            else e->buf2[o++] = p[i];
        }
        if (!b->ms_split) return bpe_word(e, e->buf2, o, NULL, 0);
        // split before each "▁" (MergedWithNext)
        size_t w0 = 0;
        for (size_t i = 1; i + 3 <= o; i++)
            if (memcmp(e->buf2 + i, CPR_TOK_SPACE_MARK, 3) == 0) {
                if (bpe_word(e, e->buf2 + w0, i - w0, NULL, 0)) return -1;
                w0 = i;
                i += 2;
            }
        return bpe_word(e, e->buf2 + w0, o - w0, NULL, 0);
    }
    // ByteLevel: optional prefix space, regex split, bytes mapped
    const char *s = p;
    if (b->bl_prefix_space && (n == 0 || p[0] != ' ')) {
        if (grow((void **)&e->buf2, &e->cap_buf2, n + 1, 1)) return -1;
        e->buf2[0] = ' ';
        memcpy(e->buf2 + 1, p, n);
        s = e->buf2;
        n++;
    }
    for (size_t i = 0; i < n;) {
        size_t k = b->regex ? cpr_tok_regex_next(b->regex, s + i, n - i) : n - i;
        if (grow((void **)&e->buf, &e->cap_buf, 2 * k + 1, 1)) return -1;
        size_t o = 0;
        for (size_t q = 0; q < k; q++) {
            unsigned char c = (unsigned char)s[i + q];
            memcpy(e->buf + o, b->bl_utf8[c], b->bl_len[c]);
            o += b->bl_len[c];
        }
        if (bpe_word(e, e->buf, o, s + i, k)) return -1;
        i += k;
    }
    return 0;
}

// Leftmost-longest added token in s[from..n) among those of the given pass
// (normalized or not): 1 and its position / index, or 0.
static int find_added(const struct cpr_hfbpe *b, int normalized, const char *s,
                      size_t n, size_t from, size_t *pos, int *idx) {
    const uint8_t *first = normalized ? b->first_norm : b->first_raw;
    for (size_t i = from; i < n; i++) {
        if (!first[(unsigned char)s[i]]) continue;
        int best = -1;
        size_t best_len = 0;
        for (int a = 0; a < b->n_added; a++) {
            const struct cpr_hf_added *t = &b->added[a];
            if (t->normalized == normalized && t->len > best_len &&
                t->len <= n - i && memcmp(s + i, t->pat, t->len) == 0)
                best = a, best_len = t->len;
        }
        if (best >= 0) {
            *pos = i;
            *idx = best;
            return 1;
        }
    }
    return 0;
}

// Steps 2-5 on one raw section (no raw added token inside).
static enum cpr_status section(struct enc *e, const char *s, size_t n,
                               int at_start, struct cpr_err *err) {
    const struct cpr_hfbpe *b = e->b;
    const char *p = s;
    size_t pn = n;
    if (b->sp_normalizer && n) { // ("▁" +) text with " " -> "▁"
        size_t sp = 0;
        for (size_t i = 0; i < n; i++) sp += s[i] == ' ';
        char *q = malloc(n + 2 * sp + 4);
        if (!q) goto nomem;
        size_t o = 0;
        if (b->sp_normalizer == 1) memcpy(q, CPR_TOK_SPACE_MARK, 3), o = 3;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == ' ') memcpy(q + o, CPR_TOK_SPACE_MARK, 3), o += 3;
            else q[o++] = s[i];
        }
        p = q;
        pn = o;
    }
    enum cpr_status st = CPR_OK;
    size_t i = 0, pos;
    int a;
    while (i < pn) {
        int found = find_added(b, 1, p, pn, i, &pos, &a);
        size_t end = found ? pos : pn;
        if (end > i && pretok_piece(e, p + i, end - i, at_start && i == 0)) {
            st = cpr_err_set(err, CPR_ERR_NOMEM, "tokenizing: out of memory");
            break;
        }
        if (!found) break;
        if (b->added[a].strip) {
            st = cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: added token \"%s\" "
                             "has lstrip/rstrip/single_word, which is not "
                             "implemented", e->source, b->added[a].pat);
            break;
        }
        if (emit(e, b->added[a].id)) {
            st = cpr_err_set(err, CPR_ERR_NOMEM, "tokenizing: out of memory");
            break;
        }
        i = pos + b->added[a].len;
    }
    if (p != s) free((char *)p);
    return st;
nomem:
    return cpr_err_set(err, CPR_ERR_NOMEM, "tokenizing: out of memory");
}

enum cpr_status cpr_tok_hfbpe_encode(const struct cpr_tokenizer *t,
                                     const char *text, size_t len,
                                     int add_bos, int32_t **ids, int64_t *n_out,
                                     struct cpr_err *err) {
    const struct cpr_hfbpe *b = t->impl;
    *ids = NULL;
    *n_out = 0;
    if (len > (size_t)INT32_MAX / 8)
        return cpr_err_set(err, CPR_ERR_ARG, "text of %zu bytes is too long "
                           "to tokenize at once (limit 256 MiB)", len);
    uint32_t bad_cp;
    size_t bad_at;
    if (b->nfc && cpr_tok_nfc_stable(text, len, &bad_cp, &bad_at)) {
        if (bad_cp == 0xFFFFFFFFu)
            return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: normalizer NFC: "
                               "invalid UTF-8 at byte %zu", t->source, bad_at);
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: normalizer NFC: "
                           "U+%04X at byte %zu may change under NFC (the "
                           "quick check is not YES) and full NFC "
                           "normalization is not implemented", t->source,
                           (unsigned)bad_cp, bad_at);
    }
    struct enc e = {0};
    e.b = b;
    e.source = t->source;
    enum cpr_status s = CPR_OK;
    if (grow((void **)&e.out, &e.cap_out, len / 3 + 16, sizeof(int32_t))) goto nomem;
    if (add_bos && t->bos_id >= 0 && emit(&e, t->bos_id)) goto nomem;
    size_t i = 0, pos;
    int a;
    while (i < len) { // step 1: raw added tokens
        int found = find_added(b, 0, text, len, i, &pos, &a);
        size_t end = found ? pos : len;
        if (end > i && (s = section(&e, text + i, end - i, i == 0, err))) goto out;
        if (!found) break;
        if (b->added[a].strip) {
            s = cpr_err_set(err, CPR_ERR_UNSUPPORTED, "%s: added token \"%s\" "
                            "has lstrip/rstrip/single_word, which is not "
                            "implemented", t->source, b->added[a].pat);
            goto out;
        }
        if (emit(&e, b->added[a].id)) goto nomem;
        i = pos + b->added[a].len;
    }
    if (b->add_eos && t->eos_id >= 0 && emit(&e, t->eos_id)) goto nomem;
    *ids = e.out;
    *n_out = (int64_t)e.n_out;
    e.out = NULL;
    goto out;
nomem:
    s = cpr_err_set(err, CPR_ERR_NOMEM, "tokenizing %zu bytes: out of memory", len);
out:
    free(e.out);
    free(e.tok);
    free(e.next);
    free(e.prev);
    free(e.alive);
    free(e.heap);
    free(e.buf);
    free(e.buf2);
    return s;
}
