// data/tok_pretok.h: the pieces of Hugging Face's byte-level BPE that are
// not the BPE itself: the pre-tokenizer regexes of GPT-2 and Llama-3 /
// Qwen2, written by hand over UTF-8, and GPT-2's byte-to-unicode map.
//
// The regexes (as tokenizers runs them with Oniguruma):
//   GPT-2   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
//           \s+(?!\S)|\s+
//   Llama-3 (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|
//           \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   Qwen2   the Llama-3 one with \p{N} instead of \p{N}{1,3}
// \p{L} / \p{N} are the Unicode general categories L* / N* (exact tables,
// data/tok_unicode_tables.inc, Unicode 14); \s is Oniguruma's Unicode
// whitespace: U+0009-000D, 0020, 0085, 00A0, 1680, 2000-200A, 2028, 2029,
// 202F, 205F, 3000 (JavaScript's \s differs on U+0085 and U+FEFF). The
// case-insensitive contractions fold ASCII letters and U+017F (long s,
// which folds to 's'). Bytes that are not valid UTF-8 (never in a Rust
// String, so never seen by tokenizers) count as one "other" character each.
// Not a general regex engine: patterns are recognized by their exact text.
#ifndef CPR_DATA_TOK_PRETOK_H
#define CPR_DATA_TOK_PRETOK_H

#include <stddef.h>
#include <stdint.h>

enum cpr_tok_uclass {
    CPR_TOK_UC_OTHER = 0,
    CPR_TOK_UC_LETTER,  // \p{L}
    CPR_TOK_UC_NUMBER,  // \p{N}
    CPR_TOK_UC_SPACE,   // \s
};

// Class of code point cp.
enum cpr_tok_uclass cpr_tok_uclass(uint32_t cp);

enum cpr_tok_regex {
    CPR_TOK_REGEX_NONE = 0,
    CPR_TOK_REGEX_GPT2,
    CPR_TOK_REGEX_LLAMA3,
    CPR_TOK_REGEX_QWEN2,
};

// The regex whose pattern text is `pattern` (len bytes), or
// CPR_TOK_REGEX_NONE when it is not one of the above.
enum cpr_tok_regex cpr_tok_regex_find(const char *pattern, size_t len);

// The pattern text of re (NUL-terminated), "" for NONE.
const char *cpr_tok_regex_pattern(enum cpr_tok_regex re);

// Length in bytes (>= 1) of the regex match starting at s[0]; n >= 1.
// Every character is covered by some alternative of these patterns, so
// consecutive calls split any text into pre-tokens with no gaps.
size_t cpr_tok_regex_next(enum cpr_tok_regex re, const char *s, size_t n);

// GPT-2's bytes_to_unicode: byte b maps to code point map[b] (printable
// bytes to themselves, the rest to U+0100 + k), and utf8[b] / utf8_len[b]
// hold that code point's UTF-8 (1 or 2 bytes).
void cpr_tok_byte_map(uint32_t map[256], char utf8[256][2],
                      uint8_t utf8_len[256]);

#endif
