// data/tok_hfbpe.h: internal state shared by the two halves of the
// tokenizer.json BPE tokenizer: data/tok_hfbpe.c (reading tokenizer.json
// and tokenizer_config.json) and data/tok_hfbpe_encode.c (encoding). Not a
// public API: use data/tokenizer.h.
//
// The pipeline, as Hugging Face `tokenizers` (Rust) runs it for encode():
//   1. added tokens that are not normalized (normalized=false, or no
//      normalizer) are split off the raw text, leftmost-longest;
//   2. each remaining section is normalized: none, the SentencePiece
//      style Prepend("▁") + Replace(" " -> "▁") (LLaMA-2, TinyStories),
//      Replace(" " -> "▁") alone (Gemma), or NFC (GPT-NeoX, Qwen2) on text
//      that is already NFC (checked conservatively, data/tok_nfc.h; other
//      text is refused, never tokenized differently);
//   3. normalized added tokens are split off the normalized text by their
//      normalized content (so "<unk>" is found as "▁<unk>");
//   4. each remaining piece is pre-tokenized into words: none (one word);
//      Metaspace (" " -> "▁", prepend "▁" always / first (only for the
//      piece at offset 0) / never, optionally split before each "▁");
//      ByteLevel (optional prefix space, the GPT-2 / Llama-3 / Qwen2 regex
//      split, then each byte mapped to its printable stand-in character);
//   5. the BPE model encodes each word: initial symbols are characters
//      (byte-level: mapped bytes) found in the vocabulary, else <0xNN>
//      byte tokens (byte_fallback), else unk (fused when fuse_unk, dropped
//      when there is no unk token); with ignore_merges a word that is a
//      vocabulary entry is emitted as is; otherwise merges are applied by
//      rank, lowest first, leftmost on ties (a heap; stale entries skipped);
//   6. BOS / EOS per tokenizer_config.json (add_bos_token / add_eos_token),
//      else per the post_processor's TemplateProcessing.
// Where tokenizers.js (our test oracle) and the Rust library differ, this
// follows Rust: Metaspace split=true is honoured (tokenizers.js ignores
// it); prepend_scheme "first" means "the piece starts at offset 0 of the
// text" (tokenizers.js: "the piece lies in the first raw section", which
// differs only after a normalized added token inside that section); \s
// is Oniguruma's (U+0085 yes, U+FEFF no; JavaScript the reverse). None of
// these cases occurs in the shared corpora or the fixtures.
#ifndef CPR_DATA_TOK_HFBPE_H
#define CPR_DATA_TOK_HFBPE_H

#include <stddef.h>
#include <stdint.h>

#include "data/tok_pretok.h"

#define CPR_TOK_SPACE_MARK "\xe2\x96\x81" // U+2581 '▁'

enum cpr_hf_pre {
    CPR_HF_PRE_NONE = 0,
    CPR_HF_PRE_METASPACE,
    CPR_HF_PRE_BYTELEVEL,
};

enum cpr_hf_prepend { CPR_HF_PREPEND_NEVER = 0, CPR_HF_PREPEND_ALWAYS, CPR_HF_PREPEND_FIRST };

struct cpr_hf_added {
    char *pat;          // what is matched: content, or normalized content
    size_t len;
    int32_t id;
    uint8_t normalized; // 1: matched in the normalized text (step 3)
    uint8_t strip;      // lstrip / rstrip / single_word set: refused when met
};

struct cpr_hfbpe {
    int32_t n;            // vocab size: max id + 1 over vocab and added
    char **piece;         // (n) piece strings (owned) or NULL for holes
    uint32_t *piece_len;  // (n)
    int32_t *table;       // model.vocab string -> id, open addressing
    uint32_t mask;
    uint64_t *mkey;       // merges: (a << 32 | b) -> rank, new id
    int32_t *mrank, *mnew;
    uint32_t mmask;
    int32_t byte_id[256]; // <0xNN> ids or -1
    int byte_fallback, fuse_unk, ignore_merges;
    int32_t unk_id;       // -1 when none
    // pipeline
    int sp_normalizer;    // step 2: 1 Prepend("▁") + Replace(" " -> "▁"),
                          // 2 Replace(" " -> "▁") alone (Gemma)
    int nfc;              // normalizer NFC: text must already be NFC
                          // (data/tok_nfc.h), else refused at encode
    enum cpr_hf_pre pre;
    enum cpr_hf_prepend ms_prepend;
    int ms_split;
    enum cpr_tok_regex regex;  // ByteLevel: NONE = no regex split
    int bl_prefix_space;
    int32_t byte_sym[256];     // ByteLevel: id of each byte's character
    char bl_utf8[256][2];      // ByteLevel: each byte's character (UTF-8)
    uint8_t bl_len[256];
    // (first, second) code point pairs adjacent inside some vocabulary
    // piece: a boundary between two initial symbols whose pair is absent
    // can never be merged across (every merge result is the concatenation
    // of its parts' pieces), so long words are cut there and merged
    // segment by segment — same result, small heaps.
    uint64_t *pairs;           // open addressing, ~0 empty
    uint32_t pmask;
    // added tokens
    struct cpr_hf_added *added;
    int n_added;
    uint8_t first_raw[256], first_norm[256]; // first bytes of the patterns
    int add_eos;
};

// Vocabulary lookup (model.vocab only): id or -1.
int32_t cpr_hfbpe_vocab_find(const struct cpr_hfbpe *b, const char *s,
                             size_t n);
// First code point of s[0..n) (n >= 1) and its length; bytes that are not
// UTF-8 give 0x110000 + byte, length 1.
uint32_t cpr_hfbpe_cp_at(const unsigned char *s, size_t n, size_t *len);
// Is (a, b) a pair of adjacent code points inside some vocabulary piece?
int cpr_hfbpe_pair_seen(const struct cpr_hfbpe *b, uint32_t a, uint32_t c);
// Merge of the pair (x, y): 1 and its rank / new id, or 0.
int cpr_hfbpe_merge_find(const struct cpr_hfbpe *b, int32_t x, int32_t y,
                         int32_t *rank, int32_t *new_id);

#endif
