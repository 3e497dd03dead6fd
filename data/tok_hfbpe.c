// data/tok_hfbpe.c: Hugging Face tokenizer.json, BPE model, SentencePiece
// style (LLaMA-2, TinyStories): what `tokenizers` does for
//   normalizer    Sequence[Prepend("▁"), Replace(" " -> "▁")]  (or the
//                 equivalent Metaspace pre-tokenizer, prepend_scheme
//                 "always"/"first", split false)
//   pre_tokenizer none, so the whole normalized text is one "word"
//   model         BPE with merges applied by rank: a heap ordered by
//                 (rank asc, position asc) — tokenizers' Word::merge_all —
//                 with stale entries skipped when popped; characters not in
//                 the vocabulary become <0xNN> byte tokens (byte_fallback)
//                 or <unk> (consecutive ones fused when fuse_unk).
// Not handled, each refused with CPR_ERR_UNSUPPORTED naming the field:
// other normalizers / pre-tokenizers (byte-level BPE of GPT-2 / Llama-3),
// dropout, continuing_subword_prefix / end_of_word_suffix.
// Added tokens with normalized=true are found in the normalized text by
// their normalized content ("<unk>" is matched as "▁<unk>"), leftmost-
// longest, as tokenizers' AddedVocabulary does, and emitted as their ids;
// BPE merges never cross them. Added tokens with normalized=false would be
// split from the raw text first; text containing one is refused.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/json.h"
#include "data/tokenizer.h"

#define SPACE_MARK "\xe2\x96\x81" // U+2581 '▁'

struct hfbpe {
    int32_t n;            // vocab size (max id + 1)
    char **piece;         // (n) piece strings (owned) or NULL for holes
    uint32_t *piece_len;  // (n)
    int32_t *table;       // string -> id, open addressing, -1 empty
    uint32_t mask;
    uint64_t *mkey;       // merges: key (a << 32 | b), or ~0 empty
    int32_t *mrank, *mnew;
    uint32_t mmask;
    int32_t byte_id[256]; // <0xNN> ids or -1
    int32_t unk_id;       // -1 when none
    int fuse_unk;
    char **added;         // added-token patterns (NUL-terminated): the
                          // normalized content, or the raw content when
                          // the token is not normalized
    uint8_t *added_raw;   // 1: normalized=false (raw content)
    int32_t *added_id;    // their ids
    int n_added;
    uint8_t added_first[256]; // 1 when some added token starts with byte
};

static uint32_t fnv1a(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int32_t vocab_find(const struct hfbpe *b, const char *s, size_t n) {
    for (uint32_t h = fnv1a(s, n) & b->mask;; h = (h + 1) & b->mask) {
        int32_t id = b->table[h];
        if (id < 0) return -1;
        if (b->piece_len[id] == n && memcmp(b->piece[id], s, n) == 0) return id;
    }
}

static uint32_t mix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (uint32_t)k;
}

static int merge_find(const struct hfbpe *b, int32_t x, int32_t y,
                      int32_t *rank, int32_t *new_id) {
    uint64_t key = ((uint64_t)(uint32_t)x << 32) | (uint32_t)y;
    for (uint32_t h = mix64(key) & b->mmask;; h = (h + 1) & b->mmask) {
        if (b->mkey[h] == ~(uint64_t)0) return 0;
        if (b->mkey[h] == key) {
            *rank = b->mrank[h];
            *new_id = b->mnew[h];
            return 1;
        }
    }
}

static void hfbpe_free(struct hfbpe *b) {
    if (!b) return;
    if (b->piece)
        for (int32_t i = 0; i < b->n; i++) free(b->piece[i]);
    for (int i = 0; i < b->n_added; i++) free(b->added[i]);
    free(b->added);
    free(b->added_id);
    free(b->added_raw);
    free(b->piece);
    free(b->piece_len);
    free(b->table);
    free(b->mkey);
    free(b->mrank);
    free(b->mnew);
    free(b);
}

// The normalizer: "▁" + text with " " -> "▁" (nothing for empty text);
// with raw != 0 a plain copy. malloc'd, NUL-terminated; *out_len if given.
static char *normalize(const char *text, size_t len, int raw, size_t *out_len) {
    size_t spaces = 0;
    for (size_t i = 0; i < len && !raw; i++) spaces += text[i] == ' ';
    char *out = malloc(len + 2 * spaces + 4);
    if (!out) return NULL;
    size_t o = 0;
    if (len && !raw) {
        memcpy(out, SPACE_MARK, 3);
        o = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ' && !raw) {
            memcpy(out + o, SPACE_MARK, 3);
            o += 3;
        } else {
            out[o++] = text[i];
        }
    }
    out[o] = '\0';
    if (out_len) *out_len = o;
    return out;
}

// Check the normalizer / pre-tokenizer are the SentencePiece style above.
static enum cpr_status check_pipeline(const char *path, const struct cpr_json *root,
                                      struct cpr_err *err) {
    const struct cpr_json *norm = cpr_json_get(root, "normalizer");
    const struct cpr_json *pre = cpr_json_get(root, "pre_tokenizer");
    int norm_ok = 0, pre_ok = !pre || pre->type == CPR_JSON_NULL;
    if (norm && norm->type == CPR_JSON_OBJECT &&
        strcmp(cpr_json_get_str(norm, "type", ""), "Sequence") == 0) {
        const struct cpr_json *list = cpr_json_get(norm, "normalizers");
        if (list && list->type == CPR_JSON_ARRAY && list->len == 2) {
            const struct cpr_json *a = list->items[0], *b = list->items[1];
            const struct cpr_json *pat = cpr_json_get(b, "pattern");
            norm_ok = strcmp(cpr_json_get_str(a, "type", ""), "Prepend") == 0 &&
                      strcmp(cpr_json_get_str(a, "prepend", ""), SPACE_MARK) == 0 &&
                      strcmp(cpr_json_get_str(b, "type", ""), "Replace") == 0 &&
                      strcmp(cpr_json_get_str(pat, "String", ""), " ") == 0 &&
                      strcmp(cpr_json_get_str(b, "content", ""), SPACE_MARK) == 0;
        }
    }
    if (!norm_ok || !pre_ok)
        return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                           "%s: normalizer %s / pre_tokenizer %s: only the "
                           "SentencePiece-style Prepend(\"\xe2\x96\x81\") + "
                           "Replace(\" \") BPE pipeline is implemented (byte-"
                           "level BPE is not yet)", path,
                           norm ? cpr_json_get_str(norm, "type", "?") : "null",
                           pre && pre->type == CPR_JSON_OBJECT
                               ? cpr_json_get_str(pre, "type", "?")
                               : "null");
    return CPR_OK;
}

static enum cpr_status fail(struct hfbpe *b, struct cpr_err *err,
                            enum cpr_status s) {
    (void)err;
    hfbpe_free(b);
    return s;
}

enum cpr_status cpr_tok_hfbpe_load(struct cpr_tokenizer *t, const char *buf,
                                   size_t len, const char *config_buf,
                                   size_t config_len, struct cpr_err *err) {
    const char *path = t->source;
    struct cpr_json_doc doc = {0};
    CPR_TRY(cpr_json_parse(&doc, buf, len, path, 0, err));
    struct hfbpe *b = calloc(1, sizeof *b);
    enum cpr_status s = CPR_OK;
    if (!b) {
        cpr_json_free(&doc);
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
    }
    const struct cpr_json *model = cpr_json_get(doc.root, "model");
    const struct cpr_json *vocab = cpr_json_get(model, "vocab");
    const struct cpr_json *merges = cpr_json_get(model, "merges");
    const struct cpr_json *added = cpr_json_get(doc.root, "added_tokens");
    if ((s = check_pipeline(path, doc.root, err))) goto out;
    if (!model || strcmp(cpr_json_get_str(model, "type", ""), "BPE") != 0 ||
        !vocab || vocab->type != CPR_JSON_OBJECT || !merges ||
        merges->type != CPR_JSON_ARRAY) {
        s = cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                        "%s: model.type must be \"BPE\" with a vocab object "
                        "and a merges array", path);
        goto out;
    }
    const struct cpr_json *drop = cpr_json_get(model, "dropout");
    const struct cpr_json *csp = cpr_json_get(model, "continuing_subword_prefix");
    const struct cpr_json *eows = cpr_json_get(model, "end_of_word_suffix");
    if ((drop && drop->type != CPR_JSON_NULL) ||
        (csp && csp->type == CPR_JSON_STRING && csp->len) ||
        (eows && eows->type == CPR_JSON_STRING && eows->len) ||
        cpr_json_get_bool(model, "ignore_merges", 0)) {
        s = cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                        "%s: BPE dropout, continuing_subword_prefix, "
                        "end_of_word_suffix and ignore_merges are not supported",
                        path);
        goto out;
    }
    // vocabulary: ids may be given in any order; n = max id + 1
    int64_t maxid = -1;
    for (size_t i = 0; i < vocab->len; i++) {
        const struct cpr_json *v = vocab->items[i];
        if (v->type != CPR_JSON_NUMBER || !v->is_int || v->i < 0 || v->i >= (1 << 24)) {
            s = cpr_err_set(err, CPR_ERR_FORMAT,
                            "%s: model.vocab[\"%.40s\"] must be an id in "
                            "[0, 2^24)", path, v->key);
            goto out;
        }
        if (v->i > maxid) maxid = v->i;
    }
    for (size_t i = 0; added && added->type == CPR_JSON_ARRAY && i < added->len; i++) {
        int64_t id = cpr_json_get_int(added->items[i], "id", -1);
        if (id > maxid && id < (1 << 24)) maxid = id;
    }
    b->n = (int32_t)(maxid + 1);
    uint32_t cap = 1;
    while (cap < 2u * (uint32_t)b->n + 2) cap <<= 1;
    b->mask = cap - 1;
    b->piece = calloc((size_t)b->n + 1, sizeof *b->piece);
    b->piece_len = calloc((size_t)b->n + 1, sizeof *b->piece_len);
    b->table = malloc(cap * sizeof *b->table);
    uint32_t mcap = 1;
    while (mcap < 2u * (uint32_t)merges->len + 2) mcap <<= 1;
    b->mmask = mcap - 1;
    b->mkey = malloc(mcap * sizeof *b->mkey);
    b->mrank = malloc(mcap * sizeof *b->mrank);
    b->mnew = malloc(mcap * sizeof *b->mnew);
    if (!b->piece || !b->piece_len || !b->table || !b->mkey || !b->mrank || !b->mnew) {
        s = cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    memset(b->table, 0xff, cap * sizeof *b->table);
    memset(b->mkey, 0xff, mcap * sizeof *b->mkey);
    for (size_t i = 0; i < vocab->len; i++) {
        const struct cpr_json *v = vocab->items[i];
        int32_t id = (int32_t)v->i;
        if (b->piece[id]) {
            s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: id %d appears twice in "
                            "model.vocab", path, (int)id);
            goto out;
        }
        b->piece[id] = malloc(v->key_len + 1);
        if (!b->piece[id]) {
            s = cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
        memcpy(b->piece[id], v->key, v->key_len);
        b->piece[id][v->key_len] = '\0';
        b->piece_len[id] = (uint32_t)v->key_len;
        uint32_t h = fnv1a(v->key, v->key_len) & b->mask;
        while (b->table[h] >= 0) h = (h + 1) & b->mask;
        b->table[h] = id;
    }
    for (int c = 0; c < 256; c++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", c);
        b->byte_id[c] = vocab_find(b, name, 6);
    }
    const char *unk = cpr_json_get_str(model, "unk_token", NULL);
    b->unk_id = unk ? vocab_find(b, unk, strlen(unk)) : -1;
    b->fuse_unk = cpr_json_get_bool(model, "fuse_unk", 0);
    // merges: "a b" strings (or [a, b] pairs); rank = index
    for (size_t r = 0; r < merges->len; r++) {
        const struct cpr_json *m = merges->items[r];
        const char *a = NULL, *bb = NULL;
        size_t la = 0, lb = 0;
        if (m->type == CPR_JSON_STRING) {
            const char *sp = memchr(m->str, ' ', m->len);
            if (sp) {
                a = m->str;
                la = (size_t)(sp - m->str);
                bb = sp + 1;
                lb = m->len - la - 1;
            }
        } else if (m->type == CPR_JSON_ARRAY && m->len == 2 &&
                   m->items[0]->type == CPR_JSON_STRING &&
                   m->items[1]->type == CPR_JSON_STRING) {
            a = m->items[0]->str, la = m->items[0]->len;
            bb = m->items[1]->str, lb = m->items[1]->len;
        }
        int32_t ia = a ? vocab_find(b, a, la) : -1, ib = a ? vocab_find(b, bb, lb) : -1;
        char *cat = a ? malloc(la + lb + 1) : NULL;
        int32_t inew = -1;
        if (cat) {
            memcpy(cat, a, la);
            memcpy(cat + la, bb, lb);
            inew = vocab_find(b, cat, la + lb);
            free(cat);
        }
        if (ia < 0 || ib < 0 || inew < 0) {
            s = cpr_err_set(err, CPR_ERR_FORMAT,
                            "%s: model.merges[%zu] is not a pair of vocabulary "
                            "pieces whose concatenation is in the vocabulary",
                            path, r);
            goto out;
        }
        int32_t old_rank, old_new;
        if (merge_find(b, ia, ib, &old_rank, &old_new)) continue; // first wins
        uint64_t key = ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib;
        uint32_t h = mix64(key) & b->mmask;
        while (b->mkey[h] != ~(uint64_t)0) h = (h + 1) & b->mmask;
        b->mkey[h] = key;
        b->mrank[h] = (int32_t)r;
        b->mnew[h] = inew;
    }
    // added tokens (contents checked against the text at encode time)
    if (added && added->type == CPR_JSON_ARRAY && added->len) {
        b->added = calloc(added->len, sizeof *b->added);
        b->added_id = calloc(added->len, sizeof *b->added_id);
        b->added_raw = calloc(added->len, 1);
        if (!b->added || !b->added_id || !b->added_raw) {
            s = cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
        for (size_t i = 0; i < added->len; i++) {
            const char *c = cpr_json_get_str(added->items[i], "content", NULL);
            int64_t id = cpr_json_get_int(added->items[i], "id", -1);
            if (!c || !*c || id < 0 || id >= b->n) {
                s = cpr_err_set(err, CPR_ERR_FORMAT,
                                "%s: added_tokens[%zu] needs a non-empty "
                                "content and an id in [0, %d)", path, i,
                                (int)b->n);
                goto out;
            }
            int raw = !cpr_json_get_bool(added->items[i], "normalized", 1);
            char *pat = normalize(c, strlen(c), raw, NULL);
            if (!pat) {
                s = cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
                goto out;
            }
            if (!raw) b->added_first[(unsigned char)pat[0]] = 1;
            b->added_raw[b->n_added] = (uint8_t)raw;
            b->added_id[b->n_added] = (int32_t)id;
            b->added[b->n_added++] = pat;
        }
    }
    // BOS / EOS from tokenizer_config.json when present
    t->bos_id = t->eos_id = -1;
    if (config_buf) {
        struct cpr_json_doc cfg = {0};
        if (cpr_json_parse(&cfg, config_buf, config_len, "tokenizer_config.json",
                           0, err) == CPR_OK) {
            const char *bos = cpr_json_get_str(cfg.root, "bos_token", NULL);
            const char *eos = cpr_json_get_str(cfg.root, "eos_token", NULL);
            if (bos) t->bos_id = vocab_find(b, bos, strlen(bos));
            if (eos) t->eos_id = vocab_find(b, eos, strlen(eos));
            cpr_json_free(&cfg);
        } else {
            s = err->code;
            goto out;
        }
    }
    t->vocab_size = b->n;
    t->impl = b;
    b = NULL;
out:
    cpr_json_free(&doc);
    if (b) fail(b, err, s);
    return s;
}

// ---- encoding ----
struct cand {
    int32_t rank, pos, next, ta, tb, id;
};

static int before(const struct cand *x, const struct cand *y) {
    return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
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
    while (i > 0 && before(&c, &h->c[(i - 1) / 2])) {
        h->c[i] = h->c[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->c[i] = c;
    return 0;
}

static struct cand heap_pop(struct heap *h) {
    struct cand top = h->c[0], last = h->c[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct cand *best = &last;
        if (l < h->n && before(&h->c[l], best)) m = l, best = &h->c[l];
        if (r < h->n && before(&h->c[r], best)) m = r;
        if (m == i) break;
        h->c[i] = h->c[m];
        i = m;
    }
    if (h->n) h->c[i] = last;
    return top;
}

static int push_pair(const struct hfbpe *b, const int32_t *tok,
                     const int32_t *next, int32_t n, struct heap *h, int32_t a) {
    int32_t c = next[a];
    if (c >= n) return 0;
    int32_t rank, id;
    if (!merge_find(b, tok[a], tok[c], &rank, &id)) return 0;
    struct cand x = {rank, a, c, tok[a], tok[c], id};
    return heap_push(h, x);
}

enum cpr_status cpr_tok_hfbpe_encode(const struct cpr_tokenizer *t,
                                     const char *text, size_t len,
                                     int add_bos, int32_t **ids, int64_t *n_out,
                                     struct cpr_err *err) {
    const struct hfbpe *b = t->impl;
    *ids = NULL;
    *n_out = 0;
    if (len > (size_t)INT32_MAX / 8)
        return cpr_err_set(err, CPR_ERR_ARG, "text of %zu bytes is too long "
                           "to tokenize at once", len);
    for (int a = 0; a < b->n_added; a++) {
        size_t al = strlen(b->added[a]);
        for (size_t p = 0; b->added_raw[a] && p + al <= len; p++)
            if (memcmp(text + p, b->added[a], al) == 0)
                return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                                   "%s: the text contains the non-normalized "
                                   "added token \"%s\" at byte %zu; splitting "
                                   "the raw text on those is not implemented",
                                   t->source, b->added[a], p);
    }
    size_t o = 0, nl = len ? len + 2 * len + 3 : 0;
    char *norm = normalize(text, len, 0, &o);
    int32_t *tok = malloc((nl + 2) * sizeof(int32_t));
    int32_t *next = malloc((nl + 2) * sizeof(int32_t));
    int32_t *prev = malloc((nl + 2) * sizeof(int32_t));
    uint8_t *alive = malloc(nl + 2);
    uint8_t *fixed = malloc(nl + 2); // BOS and added tokens: never merged
    struct heap h = {0};
    enum cpr_status s = CPR_OK;
    if (!norm || !tok || !next || !prev || !alive || !fixed) goto nomem;
    // initial symbols: one per UTF-8 character, else bytes, else <unk>
    int32_t m = 0;
    if (add_bos && t->bos_id >= 0) fixed[m] = 1, tok[m++] = t->bos_id;
    for (size_t i = 0; i < o;) {
        if (b->added_first[(unsigned char)norm[i]]) { // leftmost-longest
            int best = -1;
            size_t best_len = 0;
            for (int a = 0; a < b->n_added; a++) {
                size_t al = strlen(b->added[a]);
                if (!b->added_raw[a] && al > best_len && al <= o - i &&
                    memcmp(norm + i, b->added[a], al) == 0)
                    best = a, best_len = al;
            }
            if (best >= 0) {
                fixed[m] = 1;
                tok[m++] = b->added_id[best];
                i += best_len;
                continue;
            }
        }
        fixed[m] = 0;
        size_t j = i + 1;
        while (j < o && ((unsigned char)norm[j] & 0xC0) == 0x80 && j - i < 4) j++;
        int32_t id = vocab_find(b, norm + i, j - i);
        if (id >= 0) {
            tok[m++] = id;
        } else {
            int all = 1;
            for (size_t q = i; q < j; q++) all &= b->byte_id[(unsigned char)norm[q]] >= 0;
            if (all) {
                for (size_t q = i; q < j; q++)
                    fixed[m] = 0, tok[m++] = b->byte_id[(unsigned char)norm[q]];
            } else if (b->unk_id >= 0) {
                if (!(b->fuse_unk && m > 0 && !fixed[m - 1] && tok[m - 1] == b->unk_id))
                    tok[m++] = b->unk_id;
            } else {
                s = cpr_err_set(err, CPR_ERR_FORMAT,
                                "%s: character at normalized byte %zu has no "
                                "token, no byte fallback and no unk_token",
                                t->source, i);
                goto out;
            }
        }
        i = j;
    }
    // merges within each run of non-fixed symbols
    for (int32_t i = 0; i < m; i++) {
        next[i] = i + 1;
        prev[i] = i - 1;
        alive[i] = 1;
    }
    for (int32_t i = 0; i + 1 < m; i++)
        if (!fixed[i] && !fixed[i + 1] && push_pair(b, tok, next, m, &h, i))
            goto nomem;
    while (h.n) {
        struct cand c = heap_pop(&h);
        if (!alive[c.pos] || !alive[c.next] || next[c.pos] != c.next ||
            tok[c.pos] != c.ta || tok[c.next] != c.tb)
            continue;
        tok[c.pos] = c.id;
        alive[c.next] = 0;
        next[c.pos] = next[c.next];
        if (next[c.next] < m) prev[next[c.next]] = c.pos;
        int32_t p = prev[c.pos], q = next[c.pos];
        if (p >= 0 && !fixed[p] && push_pair(b, tok, next, m, &h, p)) goto nomem;
        if (q < m && !fixed[q] && push_pair(b, tok, next, m, &h, c.pos)) goto nomem;
    }
    int32_t k = 0;
    for (int32_t i = 0; i < m; i++)
        if (alive[i]) tok[k++] = tok[i];
    *ids = tok;
    *n_out = k;
    tok = NULL;
    goto out;
nomem:
    s = cpr_err_set(err, CPR_ERR_NOMEM, "tokenizing %zu bytes: out of memory", len);
out:
    free(norm);
    free(tok);
    free(next);
    free(prev);
    free(alive);
    free(fixed);
    free(h.c);
    return s;
}

const char *cpr_tok_hfbpe_piece(const struct cpr_tokenizer *t, int32_t id,
                                size_t *len) {
    const struct hfbpe *b = t->impl;
    if (!b || id < 0 || id >= b->n || !b->piece[id]) return NULL;
    *len = b->piece_len[id];
    return b->piece[id];
}

void cpr_tok_hfbpe_free(struct cpr_tokenizer *t) {
    hfbpe_free(t->impl);
    t->impl = NULL;
}
