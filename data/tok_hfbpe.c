// data/tok_hfbpe.c: Hugging Face tokenizer.json with a BPE model: reading
// the file and tokenizer_config.json into struct cpr_hfbpe (pipeline in
// data/tok_hfbpe.h; encoding in data/tok_hfbpe_encode.c).
//
// Accepted configurations (anything else is CPR_ERR_UNSUPPORTED naming the
// field, never a silently different tokenization):
//   normalizer    null, Sequence[Prepend("▁"), Replace(" " -> "▁")],
//                 Replace(" " -> "▁") (Gemma), or NFC on text that is
//                 already NFC (data/tok_nfc.h; other text refused)
//   pre_tokenizer null; Metaspace(replacement "▁", prepend_scheme always /
//                 first / never or legacy add_prefix_space, split);
//                 ByteLevel(add_prefix_space, use_regex: GPT-2 regex);
//                 Sequence[Split(Regex = the GPT-2, Llama-3 or Qwen2
//                 pattern, behavior Isolated, invert false),
//                 ByteLevel(use_regex false)]; a one-element Sequence
//   model         BPE without dropout, continuing_subword_prefix or
//                 end_of_word_suffix; byte_fallback, fuse_unk, unk_token,
//                 ignore_merges honoured; merges as "a b" or ["a", "b"]
// The decoder is not used (encoding only).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/json.h"
#include "data/tok_hfbpe.h"
#include "data/tokenizer.h"

static uint32_t fnv1a(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int32_t cpr_hfbpe_vocab_find(const struct cpr_hfbpe *b, const char *s,
                             size_t n) {
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

int cpr_hfbpe_merge_find(const struct cpr_hfbpe *b, int32_t x, int32_t y,
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

// First code point of s[0..n) (n >= 1); invalid UTF-8: the byte + 0x110000.
uint32_t cpr_hfbpe_cp_at(const unsigned char *s, size_t n, size_t *len) {
    unsigned c = s[0];
    size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (k == 0 || k > n) { *len = 1; return 0x110000u + c; }
    uint32_t v = k == 1 ? c : c & (0x7Fu >> k);
    for (size_t j = 1; j < k; j++) {
        if ((s[j] & 0xC0) != 0x80) { *len = 1; return 0x110000u + c; }
        v = (v << 6) | (s[j] & 0x3F);
    }
    *len = k;
    return v;
}

static uint64_t pair_key(uint32_t a, uint32_t c) { return ((uint64_t)a << 32) | c; }

int cpr_hfbpe_pair_seen(const struct cpr_hfbpe *b, uint32_t a, uint32_t c) {
    uint64_t key = pair_key(a, c);
    for (uint32_t h = mix64(key) & b->pmask;; h = (h + 1) & b->pmask) {
        if (b->pairs[h] == ~(uint64_t)0) return 0;
        if (b->pairs[h] == key) return 1;
    }
}

static enum cpr_status build_pairs(const char *path, struct cpr_hfbpe *b,
                                   struct cpr_err *err) {
    size_t total = 0;
    for (int32_t i = 0; i < b->n; i++) total += b->piece_len[i];
    uint32_t cap = 1024;
    while (cap < 2 * total + 2 && cap < (1u << 30)) cap <<= 1;
    b->pairs = malloc(cap * sizeof *b->pairs);
    if (!b->pairs) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
    memset(b->pairs, 0xff, cap * sizeof *b->pairs);
    b->pmask = cap - 1;
    for (int32_t i = 0; i < b->n; i++) {
        const unsigned char *p = (const unsigned char *)b->piece[i];
        size_t n = b->piece_len[i], l, l2;
        if (!p || !n) continue;
        uint32_t prev = cpr_hfbpe_cp_at(p, n, &l);
        for (size_t j = l; j < n; j += l2) {
            uint32_t cur = cpr_hfbpe_cp_at(p + j, n - j, &l2);
            uint64_t key = pair_key(prev, cur);
            uint32_t h = mix64(key) & b->pmask;
            while (b->pairs[h] != ~(uint64_t)0 && b->pairs[h] != key) h = (h + 1) & b->pmask;
            b->pairs[h] = key;
            prev = cur;
        }
    }
    return CPR_OK;
}

static void hfbpe_free(struct cpr_hfbpe *b) {
    if (!b) return;
    free(b->pairs);
    if (b->piece)
        for (int32_t i = 0; i < b->n; i++) free(b->piece[i]);
    for (int i = 0; i < b->n_added; i++) free(b->added[i].pat);
    free(b->added);
    free(b->piece);
    free(b->piece_len);
    free(b->table);
    free(b->mkey);
    free(b->mrank);
    free(b->mnew);
    free(b);
}

// ---- pipeline ----
static const char *type_of(const struct cpr_json *v) {
    if (!v || v->type == CPR_JSON_NULL) return "null";
    return cpr_json_get_str(v, "type", "?");
}

// Replace(" " -> "▁")
static int is_space_replace(const struct cpr_json *r) {
    const struct cpr_json *pat = cpr_json_get(r, "pattern");
    return strcmp(type_of(r), "Replace") == 0 &&
           strcmp(cpr_json_get_str(pat, "String", ""), " ") == 0 &&
           strcmp(cpr_json_get_str(r, "content", ""), CPR_TOK_SPACE_MARK) == 0;
}

static int is_sp_normalizer(const struct cpr_json *norm) {
    if (strcmp(type_of(norm), "Sequence") != 0) return 0;
    const struct cpr_json *list = cpr_json_get(norm, "normalizers");
    if (cpr_json_len(list) != 2 || list->type != CPR_JSON_ARRAY) return 0;
    const struct cpr_json *a = list->items[0], *b = list->items[1];
    const struct cpr_json *pat = cpr_json_get(b, "pattern");
    return strcmp(type_of(a), "Prepend") == 0 &&
           strcmp(cpr_json_get_str(a, "prepend", ""), CPR_TOK_SPACE_MARK) == 0 &&
           strcmp(type_of(b), "Replace") == 0 &&
           strcmp(cpr_json_get_str(pat, "String", ""), " ") == 0 &&
           strcmp(cpr_json_get_str(b, "content", ""), CPR_TOK_SPACE_MARK) == 0;
}

static enum cpr_status unsupported(const char *path, const char *what,
                                   const char *found, struct cpr_err *err) {
    return cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                       "%s: %s %.80s is not supported; implemented: normalizer "
                       "null, NFC, Replace(\" \") or Prepend(\"\xe2\x96\x81\")"
                       "+Replace(\" \"), "
                       "pre_tokenizer null, Metaspace, ByteLevel, or "
                       "Split(GPT-2/Llama-3/Qwen2 regex)+ByteLevel", path, what,
                       found);
}

static enum cpr_status parse_metaspace(const char *path, struct cpr_hfbpe *b,
                                       const struct cpr_json *p,
                                       struct cpr_err *err) {
    if (strcmp(cpr_json_get_str(p, "replacement", CPR_TOK_SPACE_MARK),
               CPR_TOK_SPACE_MARK) != 0)
        return unsupported(path, "Metaspace replacement",
                           cpr_json_get_str(p, "replacement", ""), err);
    b->pre = CPR_HF_PRE_METASPACE;
    const char *scheme = cpr_json_get_str(p, "prepend_scheme", NULL);
    if (!scheme) // older files: add_prefix_space
        b->ms_prepend = cpr_json_get_bool(p, "add_prefix_space", 1)
                            ? CPR_HF_PREPEND_ALWAYS : CPR_HF_PREPEND_NEVER;
    else if (strcmp(scheme, "always") == 0) b->ms_prepend = CPR_HF_PREPEND_ALWAYS;
    else if (strcmp(scheme, "first") == 0) b->ms_prepend = CPR_HF_PREPEND_FIRST;
    else if (strcmp(scheme, "never") == 0) b->ms_prepend = CPR_HF_PREPEND_NEVER;
    else return unsupported(path, "Metaspace prepend_scheme", scheme, err);
    b->ms_split = cpr_json_get_bool(p, "split", 1);
    return CPR_OK;
}

static enum cpr_status parse_pipeline(const char *path, struct cpr_hfbpe *b,
                                      const struct cpr_json *root,
                                      struct cpr_err *err) {
    const struct cpr_json *norm = cpr_json_get(root, "normalizer");
    const struct cpr_json *pre = cpr_json_get(root, "pre_tokenizer");
    if (is_sp_normalizer(norm)) b->sp_normalizer = 1;
    else if (is_space_replace(norm)) b->sp_normalizer = 2;
    else if (strcmp(type_of(norm), "NFC") == 0) b->nfc = 1;
    else if (strcmp(type_of(norm), "null") != 0)
        return unsupported(path, "normalizer", type_of(norm), err);
    const char *pt = type_of(pre);
    if (strcmp(pt, "null") == 0) return CPR_OK;
    // a Sequence of one or two steps
    const struct cpr_json *steps[2] = {pre, NULL};
    size_t n_steps = 1;
    if (strcmp(pt, "Sequence") == 0) {
        const struct cpr_json *list = cpr_json_get(pre, "pretokenizers");
        n_steps = cpr_json_len(list);
        if (!list || list->type != CPR_JSON_ARRAY || n_steps < 1 || n_steps > 2)
            return unsupported(path, "pre_tokenizer Sequence of",
                               n_steps ? "more than 2 steps" : "0 steps", err);
        steps[0] = list->items[0];
        steps[1] = n_steps > 1 ? list->items[1] : NULL;
    }
    const char *t0 = type_of(steps[0]);
    if (n_steps == 1 && strcmp(t0, "Metaspace") == 0)
        return parse_metaspace(path, b, steps[0], err);
    const struct cpr_json *bl = steps[n_steps - 1];
    if (strcmp(type_of(bl), "ByteLevel") != 0)
        return unsupported(path, "pre_tokenizer", n_steps > 1 ? type_of(bl) : t0, err);
    b->pre = CPR_HF_PRE_BYTELEVEL;
    b->bl_prefix_space = cpr_json_get_bool(bl, "add_prefix_space", 0);
    int use_regex = cpr_json_get_bool(bl, "use_regex", 1);
    if (n_steps == 1) {
        b->regex = use_regex ? CPR_TOK_REGEX_GPT2 : CPR_TOK_REGEX_NONE;
        return CPR_OK;
    }
    const struct cpr_json *sp = steps[0];
    const struct cpr_json *pat = cpr_json_get(cpr_json_get(sp, "pattern"), "Regex");
    if (strcmp(t0, "Split") != 0 || use_regex)
        return unsupported(path, "pre_tokenizer Sequence step", use_regex
                           ? "ByteLevel with use_regex after another step" : t0, err);
    if (!pat || pat->type != CPR_JSON_STRING ||
        !(b->regex = cpr_tok_regex_find(pat->str, pat->len)))
        return unsupported(path, "Split pattern",
                           pat && pat->type == CPR_JSON_STRING ? pat->str : "(not a Regex)",
                           err);
    if (strcmp(cpr_json_get_str(sp, "behavior", ""), "Isolated") != 0 ||
        cpr_json_get_bool(sp, "invert", 0))
        return unsupported(path, "Split behavior",
                           cpr_json_get_str(sp, "behavior", "?"), err);
    return CPR_OK;
}

// ---- vocabulary, merges ----
static enum cpr_status read_vocab(const char *path, struct cpr_hfbpe *b,
                                  const struct cpr_json *vocab,
                                  const struct cpr_json *added,
                                  size_t n_merges, struct cpr_err *err) {
    int64_t maxid = -1;
    if (added && added->type != CPR_JSON_ARRAY && added->type != CPR_JSON_NULL)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s: added_tokens must be an "
                           "array, found %s", path, cpr_json_type_name(added));
    for (size_t i = 0; i < vocab->len; i++) {
        const struct cpr_json *v = vocab->items[i];
        if (v->type != CPR_JSON_NUMBER || !v->is_int || v->i < 0 || v->i >= (1 << 24))
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: model.vocab[\"%.40s\"] must be an id in "
                               "[0, 2^24)", path, v->key);
        if (v->i > maxid) maxid = v->i;
    }
    for (size_t i = 0; i < cpr_json_len(added); i++) {
        int64_t id = cpr_json_get_int(added->items[i], "id", -1);
        if (id < 0 || id >= (1 << 24))
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: added_tokens[%zu].id must be an integer in "
                               "[0, 2^24)", path, i);
        if (id > maxid) maxid = id;
    }
    if (maxid < 0)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s: model.vocab is empty", path);
    b->n = (int32_t)(maxid + 1);
    uint32_t cap = 1;
    while (cap < 2u * (uint32_t)b->n + 2) cap <<= 1;
    b->mask = cap - 1;
    uint32_t mcap = 1;
    while (mcap < 2u * (uint32_t)n_merges + 2) mcap <<= 1;
    b->mmask = mcap - 1;
    b->piece = calloc((size_t)b->n + 1, sizeof *b->piece);
    b->piece_len = calloc((size_t)b->n + 1, sizeof *b->piece_len);
    b->table = malloc(cap * sizeof *b->table);
    b->mkey = malloc(mcap * sizeof *b->mkey);
    b->mrank = malloc(mcap * sizeof *b->mrank);
    b->mnew = malloc(mcap * sizeof *b->mnew);
    if (!b->piece || !b->piece_len || !b->table || !b->mkey || !b->mrank || !b->mnew)
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
    memset(b->table, 0xff, cap * sizeof *b->table);
    memset(b->mkey, 0xff, mcap * sizeof *b->mkey);
    for (size_t i = 0; i < vocab->len; i++) {
        const struct cpr_json *v = vocab->items[i];
        int32_t id = (int32_t)v->i;
        if (b->piece[id])
            return cpr_err_set(err, CPR_ERR_FORMAT, "%s: id %d appears twice in "
                               "model.vocab (\"%.40s\")", path, (int)id, v->key);
        if (cpr_hfbpe_vocab_find(b, v->key, v->key_len) >= 0)
            continue; // duplicate key: cannot happen after JSON parsing
        b->piece[id] = malloc(v->key_len + 1);
        if (!b->piece[id]) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
        memcpy(b->piece[id], v->key, v->key_len);
        b->piece[id][v->key_len] = '\0';
        b->piece_len[id] = (uint32_t)v->key_len;
        uint32_t h = fnv1a(v->key, v->key_len) & b->mask;
        while (b->table[h] >= 0) h = (h + 1) & b->mask;
        b->table[h] = id;
    }
    return CPR_OK;
}

static enum cpr_status read_merges(const char *path, struct cpr_hfbpe *b,
                                   const struct cpr_json *merges,
                                   struct cpr_err *err) {
    for (size_t r = 0; r < merges->len; r++) {
        const struct cpr_json *m = merges->items[r];
        const char *a = NULL, *bb = NULL;
        size_t la = 0, lb = 0;
        if (m->type == CPR_JSON_STRING) {
            const char *sp = memchr(m->str, ' ', m->len);
            if (sp) {
                a = m->str, la = (size_t)(sp - m->str);
                bb = sp + 1, lb = m->len - la - 1;
            }
        } else if (m->type == CPR_JSON_ARRAY && m->len == 2 &&
                   m->items[0]->type == CPR_JSON_STRING &&
                   m->items[1]->type == CPR_JSON_STRING) {
            a = m->items[0]->str, la = m->items[0]->len;
            bb = m->items[1]->str, lb = m->items[1]->len;
        }
        int32_t ia = a ? cpr_hfbpe_vocab_find(b, a, la) : -1;
        int32_t ib = a ? cpr_hfbpe_vocab_find(b, bb, lb) : -1, inew = -1;
        char *cat = a ? malloc(la + lb + 1) : NULL;
        if (cat) {
            memcpy(cat, a, la);
            memcpy(cat + la, bb, lb);
            inew = cpr_hfbpe_vocab_find(b, cat, la + lb);
            free(cat);
        }
        if (ia < 0 || ib < 0 || inew < 0)
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: model.merges[%zu] is not a pair of vocabulary "
                               "pieces whose concatenation is in the vocabulary",
                               path, r);
        int32_t old_rank, old_new;
        if (cpr_hfbpe_merge_find(b, ia, ib, &old_rank, &old_new)) continue; // first wins
        uint64_t key = ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib;
        uint32_t h = mix64(key) & b->mmask;
        while (b->mkey[h] != ~(uint64_t)0) h = (h + 1) & b->mmask;
        b->mkey[h] = key;
        b->mrank[h] = (int32_t)r;
        b->mnew[h] = inew;
    }
    return CPR_OK;
}

// Added tokens: pattern = content, normalized by the normalizer when the
// token is normalized (default: not special) and there is a normalizer.
static enum cpr_status read_added(const char *path, struct cpr_hfbpe *b,
                                  const struct cpr_json *added,
                                  struct cpr_err *err) {
    size_t n = cpr_json_len(added);
    if (!n) return CPR_OK;
    if (added->type != CPR_JSON_ARRAY)
        return cpr_err_set(err, CPR_ERR_FORMAT, "%s: added_tokens must be an array", path);
    b->added = calloc(n, sizeof *b->added);
    if (!b->added) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        const struct cpr_json *a = added->items[i];
        const struct cpr_json *c = cpr_json_get(a, "content");
        int64_t id = cpr_json_get_int(a, "id", -1);
        if (!c || c->type != CPR_JSON_STRING || !c->len || id < 0 || id >= b->n)
            return cpr_err_set(err, CPR_ERR_FORMAT,
                               "%s: added_tokens[%zu] needs a non-empty string "
                               "content and an id in [0, %d)", path, i, (int)b->n);
        int special = cpr_json_get_bool(a, "special", 0);
        int norm = cpr_json_get_bool(a, "normalized", !special) && b->sp_normalizer;
        struct cpr_hf_added *t = &b->added[b->n_added++];
        size_t spaces = 0;
        for (size_t k = 0; k < c->len; k++) spaces += c->str[k] == ' ';
        t->pat = malloc(c->len + 2 * spaces + 4);
        if (!t->pat) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
        size_t o = 0;
        if (norm && b->sp_normalizer == 1) memcpy(t->pat, CPR_TOK_SPACE_MARK, 3), o = 3;
        for (size_t k = 0; k < c->len; k++) {
            if (norm && c->str[k] == ' ') memcpy(t->pat + o, CPR_TOK_SPACE_MARK, 3), o += 3;
            else t->pat[o++] = c->str[k];
        }
        t->pat[o] = '\0';
        t->len = o;
        t->id = (int32_t)id;
        t->normalized = (uint8_t)norm;
        t->strip = (uint8_t)(cpr_json_get_bool(a, "lstrip", 0) ||
                             cpr_json_get_bool(a, "rstrip", 0) ||
                             cpr_json_get_bool(a, "single_word", 0));
        (norm ? b->first_norm : b->first_raw)[(unsigned char)t->pat[0]] = 1;
        if (!b->piece[id]) { // ids only in added_tokens
            b->piece[id] = malloc(c->len + 1);
            if (!b->piece[id]) return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
            memcpy(b->piece[id], c->str, c->len + 1);
            b->piece_len[id] = (uint32_t)c->len;
        }
    }
    return CPR_OK;
}

// Id of a special token given by content: added tokens first, then vocab.
static int32_t token_id(const struct cpr_hfbpe *b, const struct cpr_json *added,
                        const char *s) {
    for (size_t i = 0; i < cpr_json_len(added); i++)
        if (strcmp(cpr_json_get_str(added->items[i], "content", ""), s) == 0)
            return (int32_t)cpr_json_get_int(added->items[i], "id", -1);
    return cpr_hfbpe_vocab_find(b, s, strlen(s));
}

// bos_token / eos_token: a string or {"content": ...}.
static const char *special_name(const struct cpr_json *cfg, const char *key) {
    const struct cpr_json *v = cpr_json_get(cfg, key);
    if (v && v->type == CPR_JSON_OBJECT) return cpr_json_get_str(v, "content", NULL);
    return v && v->type == CPR_JSON_STRING ? v->str : NULL;
}

// BOS/EOS from the post_processor: TemplateProcessing "single" starting /
// ending with a SpecialToken (also inside a Sequence of processors).
static void template_specials(const struct cpr_json *pp, const char **bos,
                              const char **eos) {
    if (strcmp(type_of(pp), "Sequence") == 0) {
        const struct cpr_json *list = cpr_json_get(pp, "processors");
        for (size_t i = 0; i < cpr_json_len(list); i++)
            template_specials(list->items[i], bos, eos);
        return;
    }
    if (strcmp(type_of(pp), "TemplateProcessing") != 0) return;
    const struct cpr_json *single = cpr_json_get(pp, "single");
    size_t n = cpr_json_len(single);
    if (!n || single->type != CPR_JSON_ARRAY) return;
    const struct cpr_json *first = cpr_json_get(single->items[0], "SpecialToken");
    const struct cpr_json *last = cpr_json_get(single->items[n - 1], "SpecialToken");
    if (first) *bos = cpr_json_get_str(first, "id", NULL);
    if (last && n > 1) *eos = cpr_json_get_str(last, "id", NULL);
}

static enum cpr_status read_specials(struct cpr_tokenizer *t, struct cpr_hfbpe *b,
                                     const struct cpr_json *root,
                                     const char *config_buf, size_t config_len,
                                     struct cpr_err *err) {
    const struct cpr_json *added = cpr_json_get(root, "added_tokens");
    const char *tbos = NULL, *teos = NULL;
    template_specials(cpr_json_get(root, "post_processor"), &tbos, &teos);
    struct cpr_json_doc cfg = {0};
    if (config_buf) {
        char name[1100];
        snprintf(name, sizeof name, "%s (its tokenizer_config.json)", t->source);
        CPR_TRY(cpr_json_parse(&cfg, config_buf, config_len, name, 0, err));
    }
    const struct cpr_json *c = cfg.root;
    const char *bos = special_name(c, "bos_token"), *eos = special_name(c, "eos_token");
    const struct cpr_json *ab = cpr_json_get(c, "add_bos_token");
    const struct cpr_json *ae = cpr_json_get(c, "add_eos_token");
    t->add_bos = ab && ab->type == CPR_JSON_BOOL ? ab->boolean : tbos != NULL;
    b->add_eos = ae && ae->type == CPR_JSON_BOOL ? ae->boolean : teos != NULL;
    if (!bos) bos = tbos;
    if (!eos) eos = teos;
    t->bos_id = bos ? token_id(b, added, bos) : -1;
    t->eos_id = eos ? token_id(b, added, eos) : -1;
    if (t->bos_id < 0) t->add_bos = 0;
    if (t->eos_id < 0) b->add_eos = 0;
    cpr_json_free(&cfg);
    return CPR_OK;
}

enum cpr_status cpr_tok_hfbpe_load(struct cpr_tokenizer *t, const char *buf,
                                   size_t len, const char *config_buf,
                                   size_t config_len, struct cpr_err *err) {
    const char *path = t->source;
    struct cpr_json_doc doc = {0};
    CPR_TRY(cpr_json_parse(&doc, buf, len, path, 0, err));
    struct cpr_hfbpe *b = calloc(1, sizeof *b);
    enum cpr_status s = CPR_OK;
    if (!b) {
        cpr_json_free(&doc);
        return cpr_err_set(err, CPR_ERR_NOMEM, "%s: out of memory", path);
    }
    const struct cpr_json *model = cpr_json_get(doc.root, "model");
    const struct cpr_json *vocab = cpr_json_get(model, "vocab");
    const struct cpr_json *merges = cpr_json_get(model, "merges");
    const struct cpr_json *added = cpr_json_get(doc.root, "added_tokens");
    if (!doc.root || doc.root->type != CPR_JSON_OBJECT) {
        s = cpr_err_set(err, CPR_ERR_FORMAT, "%s: expected a JSON object, found %s",
                        path, cpr_json_type_name(doc.root));
        goto out;
    }
    if ((s = parse_pipeline(path, b, doc.root, err))) goto out;
    if (!model || strcmp(cpr_json_get_str(model, "type", "BPE"), "BPE") != 0 ||
        !vocab || vocab->type != CPR_JSON_OBJECT || !merges ||
        merges->type != CPR_JSON_ARRAY) {
        s = cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                        "%s: model.type must be \"BPE\" with a vocab object "
                        "and a merges array (found type %s)", path,
                        cpr_json_get_str(model, "type", "?"));
        goto out;
    }
    const struct cpr_json *drop = cpr_json_get(model, "dropout");
    const struct cpr_json *csp = cpr_json_get(model, "continuing_subword_prefix");
    const struct cpr_json *eows = cpr_json_get(model, "end_of_word_suffix");
    if ((drop && drop->type != CPR_JSON_NULL) ||
        (csp && csp->type == CPR_JSON_STRING && csp->len) ||
        (eows && eows->type == CPR_JSON_STRING && eows->len)) {
        s = cpr_err_set(err, CPR_ERR_UNSUPPORTED,
                        "%s: BPE dropout, continuing_subword_prefix and "
                        "end_of_word_suffix are not supported", path);
        goto out;
    }
    if ((s = read_vocab(path, b, vocab, added, merges->len, err))) goto out;
    if ((s = read_merges(path, b, merges, err))) goto out;
    if ((s = build_pairs(path, b, err))) goto out; // model.vocab pieces only
    if ((s = read_added(path, b, added, err))) goto out;
    for (int c = 0; c < 256; c++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", c);
        b->byte_id[c] = cpr_hfbpe_vocab_find(b, name, 6);
    }
    if (b->pre == CPR_HF_PRE_BYTELEVEL) {
        uint32_t map[256];
        cpr_tok_byte_map(map, b->bl_utf8, b->bl_len);
        for (int c = 0; c < 256; c++)
            b->byte_sym[c] = cpr_hfbpe_vocab_find(b, b->bl_utf8[c], b->bl_len[c]);
    }
    const char *unk = cpr_json_get_str(model, "unk_token", NULL);
    b->unk_id = unk ? cpr_hfbpe_vocab_find(b, unk, strlen(unk)) : -1;
    b->fuse_unk = cpr_json_get_bool(model, "fuse_unk", 0);
    b->byte_fallback = cpr_json_get_bool(model, "byte_fallback", 0);
    b->ignore_merges = cpr_json_get_bool(model, "ignore_merges", 0);
    if ((s = read_specials(t, b, doc.root, config_buf, config_len, err))) goto out;
    t->vocab_size = b->n;
    t->impl = b;
    b = NULL;
out:
    cpr_json_free(&doc);
    hfbpe_free(b);
    return s;
}

const char *cpr_tok_hfbpe_piece(const struct cpr_tokenizer *t, int32_t id,
                                size_t *len) {
    const struct cpr_hfbpe *b = t->impl;
    if (!b || id < 0 || id >= b->n || !b->piece[id]) return NULL;
    *len = b->piece_len[id];
    return b->piece[id];
}

void cpr_tok_hfbpe_free(struct cpr_tokenizer *t) {
    hfbpe_free(t->impl);
    t->impl = NULL;
}
