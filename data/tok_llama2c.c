// data/tok_llama2c.c: llama2.c tokenizer .bin files and run.c's encode().
//
// File format (llama2.c tokenizer.py export): int32 max_token_length, then
// vocab_size entries of {float32 score, int32 len, len bytes}. The vocab
// size is not stored: it comes from the model (checkpoint header).
//
// Encoding follows run.c exactly (see tokenizer.h), with one change of
// algorithm, not of result: instead of rescanning all adjacent pairs after
// every merge (O(n^2) — minutes for a 1 MB corpus), candidate pairs sit in
// a max-heap ordered by (merged score desc, left position asc). Positions
// in the linked list keep their original order, so "leftmost" is the
// smallest left position; entries made stale by earlier merges are
// dropped when popped. At every step the heap's top is therefore the pair
// run.c's scan would pick (tests/test_data_tok_runc.c checks this against
// a transliteration of run.c's loop, ties and unmergeable scores
// included). Lookups use the first vocabulary entry with a given string
// (llama2.c vocabularies have no duplicates; run.c's bsearch would return
// an arbitrary one of several). Text is taken by length: a NUL byte is
// encoded as a byte, where run.c would stop at it.
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"

struct vocab {
    int32_t n;
    int32_t max_len;    // header's max_token_length (validated only)
    uint32_t max_piece; // longest piece actually present (sizes scratch:
                        // the header value may lie; run.c would overflow)
    float *scores;      // (n)
    uint32_t *offsets;  // (n + 1) into bytes
    char *bytes;        // all pieces back to back
    int32_t *table;     // open-addressing hash: id or -1
    uint32_t table_mask;
};

static uint32_t fnv1a(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int32_t lookup(const struct vocab *v, const char *s, size_t n) {
    for (uint32_t h = fnv1a(s, n) & v->table_mask;; h = (h + 1) & v->table_mask) {
        int32_t id = v->table[h];
        if (id < 0) return -1;
        size_t len = v->offsets[id + 1] - v->offsets[id];
        if (len == n && memcmp(v->bytes + v->offsets[id], s, n) == 0) return id;
    }
}

static void free_vocab(struct vocab *v) {
    if (!v) return;
    free(v->scores);
    free(v->offsets);
    free(v->bytes);
    free(v->table);
    free(v);
}

enum cpr_status cpr_tok_llama2c_load(struct cpr_tokenizer *t, const char *buf,
                                     size_t len, struct cpr_err *err) {
    const char *path = t->source;
    if (t->vocab_size <= 0 || t->vocab_size > (1 << 24))
        return cpr_err_set(err, CPR_ERR_ARG,
                           "%s: a llama2.c tokenizer needs the model's vocab "
                           "size (1..16777216), found %lld", path,
                           (long long)t->vocab_size);
    if (len < 4)
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: %zu bytes; expected at least the 4-byte "
                           "max_token_length header", path, len);
    struct vocab *v = calloc(1, sizeof *v);
    if (!v) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
    int32_t n = (int32_t)t->vocab_size;
    memcpy(&v->max_len, buf, 4);
    v->n = n;
    v->scores = malloc((size_t)n * sizeof(float));
    v->offsets = malloc(((size_t)n + 1) * sizeof(uint32_t));
    v->bytes = malloc(len + 1);
    uint32_t cap = 1;
    while (cap < 2u * (uint32_t)n) cap <<= 1;
    v->table = malloc(cap * sizeof(int32_t));
    v->table_mask = cap - 1;
    if (!v->scores || !v->offsets || !v->bytes || !v->table) {
        free_vocab(v);
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
    }
    if (v->max_len <= 0 || v->max_len > 65536) {
        int32_t ml = v->max_len;
        free_vocab(v);
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: max_token_length %d; expected 1..65536", path,
                           (int)ml);
    }
    memset(v->table, 0xff, cap * sizeof(int32_t));
    size_t off = 4;
    uint32_t b = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t plen;
        if (len - off < 8) {
            free_vocab(v);
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: truncated at byte %zu in entry %d of %d "
                               "(the model's vocab size)", path, off, (int)i,
                               (int)n);
        }
        memcpy(&v->scores[i], buf + off, 4);
        memcpy(&plen, buf + off + 4, 4);
        off += 8;
        if (plen < 0 || (size_t)plen > len - off) {
            free_vocab(v);
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: entry %d has length %d at byte %zu; "
                               "expected 0..%zu (%s)", path, (int)i,
                               (int)plen, off - 4, len - off,
                               plen < 0 ? "negative length"
                                        : "file truncated");
        }
        v->offsets[i] = b;
        if ((uint32_t)plen > v->max_piece) v->max_piece = (uint32_t)plen;
        memcpy(v->bytes + b, buf + off, (size_t)plen);
        b += (uint32_t)plen;
        off += (size_t)plen;
        // insert unless the string is already present (first id wins)
        const char *s = v->bytes + v->offsets[i];
        v->offsets[i + 1] = b;
        if (lookup(v, s, (size_t)plen) < 0) {
            uint32_t h = fnv1a(s, (size_t)plen) & v->table_mask;
            while (v->table[h] >= 0) h = (h + 1) & v->table_mask;
            v->table[h] = i;
        }
    }
    if (off != len) {
        free_vocab(v);
        return cpr_err_set(err, CPR_ERR_FORMAT,
                           "%s: %zu bytes follow the %d entries; the model's "
                           "vocab size and this tokenizer disagree", path,
                           len - off, (int)n);
    }
    t->impl = v;
    t->bos_id = n > 1 ? 1 : -1;
    t->eos_id = n > 2 ? 2 : -1;
    return CPR_OK;
}

// ---- heap of candidate merges ----
// A candidate is 16 bytes: key = (descending score, ascending left
// position) packed in one uint64 so that the smallest key is the pair
// run.c's scan picks; ver = the left position's version when pushed. A
// position's version changes whenever a pair starting there may have
// changed (its token or right neighbour changed, or it died), so
// ver == ver[a] is exactly "this pair still exists unchanged".
struct cand {
    uint64_t key;
    int32_t id;   // merged id
    uint32_t ver; // version of the left position when pushed
};

// Order-preserving map of a float score (not NaN) to uint32, inverted so
// that higher scores give smaller keys. -0 and +0 map alike (run.c's
// comparison treats them as equal, so the leftmost wins).
static uint64_t cand_key(float score, int32_t a) {
    uint32_t u;
    if (score == 0) score = 0; // -0 -> +0
    memcpy(&u, &score, 4);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ((uint64_t)~u << 32) | (uint32_t)a;
}

struct heap {
    struct cand *c;
    size_t n, cap;
};

static int heap_push(struct heap *h, struct cand c) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 1024;
        struct cand *p = realloc(h->c, cap * sizeof *p);
        if (!p) return -1;
        h->c = p;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && c.key < h->c[(i - 1) / 2].key) {
        h->c[i] = h->c[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->c[i] = c;
    return 0;
}

static struct cand heap_pop(struct heap *h) {
    struct cand top = h->c[0], last = h->c[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= n) break;
        if (l + 1 < n && h->c[l + 1].key < h->c[l].key) m = l + 1;
        if (last.key <= h->c[m].key) break;
        h->c[i] = h->c[m];
        i = m;
    }
    if (n) h->c[i] = last;
    return top;
}

struct seq {
    int32_t *tok, *next, *prev;
    uint32_t *ver;
    uint8_t *alive;
    int32_t n;
    char *scratch; // concatenation buffer (2 * max_piece)
};

static int push_pair(const struct vocab *v, struct seq *s, struct heap *h,
                     int32_t a) {
    int32_t b = s->next[a];
    if (b >= s->n) return 0;
    size_t la = v->offsets[s->tok[a] + 1] - v->offsets[s->tok[a]];
    size_t lb = v->offsets[s->tok[b] + 1] - v->offsets[s->tok[b]];
    memcpy(s->scratch, v->bytes + v->offsets[s->tok[a]], la);
    memcpy(s->scratch + la, v->bytes + v->offsets[s->tok[b]], lb);
    int32_t id = lookup(v, s->scratch, la + lb);
    // run.c keeps a pair only when its score is > best, best starting at
    // -1e10f: pairs scoring <= -1e10 or NaN never merge there (and NaN
    // would break the heap's order), so they never enter the heap.
    if (id < 0 || !(v->scores[id] > -1e10f)) return 0;
    struct cand c = {cand_key(v->scores[id], a), id, s->ver[a]};
    return heap_push(h, c);
}

enum cpr_status cpr_tok_llama2c_encode(const struct cpr_tokenizer *t,
                                       const char *text, size_t len,
                                       int add_bos, int32_t **ids, int64_t *n,
                                       struct cpr_err *err) {
    const struct vocab *v = t->impl;
    *ids = NULL;
    *n = 0;
    if (len > (size_t)INT32_MAX / 4 - 4)
        return cpr_err_set(err, CPR_ERR_ARG, "text of %zu bytes is too long "
                           "to tokenize at once (limit 512 MiB)", len);
    size_t cap = len + 2;
    struct seq s = {0};
    struct heap h = {0};
    s.tok = malloc(cap * sizeof(int32_t));
    s.next = malloc(cap * sizeof(int32_t));
    s.prev = malloc(cap * sizeof(int32_t));
    s.alive = malloc(cap);
    s.ver = calloc(cap, sizeof(uint32_t));
    s.scratch = malloc(2 * (size_t)v->max_piece + 8);
    enum cpr_status st = CPR_OK;
    if (!s.tok || !s.next || !s.prev || !s.alive || !s.ver || !s.scratch)
        goto nomem;

    int32_t m = 0;
    if (add_bos && t->bos_id >= 0) s.tok[m++] = t->bos_id;
    if (len > 0) {
        int32_t sp = lookup(v, " ", 1);
        if (sp < 0) {
            st = cpr_err_set(err, CPR_ERR_FORMAT,
                             "%s: the vocabulary has no \" \" piece, which "
                             "llama2.c's dummy prefix needs", t->source);
            goto out;
        }
        s.tok[m++] = sp;
    }
    for (size_t i = 0; i < len;) {
        size_t j = i + 1;
        while (j < len && ((unsigned char)text[j] & 0xC0) == 0x80 && j - i < 4) j++;
        int32_t id = lookup(v, text + i, j - i);
        if (id >= 0) {
            s.tok[m++] = id;
        } else {
            for (size_t q = i; q < j; q++) {
                int32_t bid = (int32_t)(unsigned char)text[q] + 3;
                if (bid >= v->n) {
                    st = cpr_err_set(err, CPR_ERR_FORMAT,
                                     "%s: byte 0x%02x at offset %zu needs "
                                     "byte-fallback id %d, beyond the vocab "
                                     "size %d", t->source,
                                     (unsigned)(unsigned char)text[q], q,
                                     (int)bid, (int)v->n);
                    goto out;
                }
                s.tok[m++] = bid;
            }
        }
        i = j;
    }
    s.n = m;
    for (int32_t i = 0; i < m; i++) {
        s.next[i] = i + 1;
        s.prev[i] = i - 1;
        s.alive[i] = 1;
    }
    // The BOS token takes part in merges exactly as in run.c (it does:
    // run.c merges over the whole token buffer, BOS included).
    for (int32_t i = 0; i + 1 < m; i++)
        if (push_pair(v, &s, &h, i)) goto nomem;
    while (h.n) {
        struct cand c = heap_pop(&h);
        int32_t a = (int32_t)(uint32_t)c.key;
        if (c.ver != s.ver[a]) continue; // stale
        int32_t b = s.next[a], p = s.prev[a];
        s.tok[a] = c.id;
        s.alive[b] = 0;
        s.ver[a]++;  // its token and right neighbour change
        s.ver[b]++;  // dead (never used again; for clarity)
        s.next[a] = s.next[b];
        if (s.next[b] < m) s.prev[s.next[b]] = a;
        if (p >= 0) {
            s.ver[p]++; // its right neighbour's token changed
            if (push_pair(v, &s, &h, p)) goto nomem;
        }
        if (push_pair(v, &s, &h, a)) goto nomem;
    }
    int32_t o = 0;
    for (int32_t i = 0; i < m; i++)
        if (s.alive[i]) s.tok[o++] = s.tok[i];
    *ids = s.tok;
    *n = o;
    s.tok = NULL;
    goto out;
nomem:
    st = cpr_err_set(err, CPR_ERR_NOMEM, "tokenizing %zu bytes: out of memory",
                     len);
out:
    free(s.tok);
    free(s.next);
    free(s.prev);
    free(s.alive);
    free(s.ver);
    free(s.scratch);
    free(h.c);
    return st;
}

const char *cpr_tok_llama2c_piece(const struct cpr_tokenizer *t, int32_t id,
                                  size_t *len) {
    const struct vocab *v = t->impl;
    if (!v || id < 0 || id >= v->n) return NULL;
    *len = v->offsets[id + 1] - v->offsets[id];
    return v->bytes + v->offsets[id];
}

void cpr_tok_llama2c_free(struct cpr_tokenizer *t) {
    free_vocab(t->impl);
    t->impl = NULL;
}
