// tests/oracle/tok_oracle_families.mjs: tokenizer.json conventions of the
// model families, checked against Hugging Face tokenizers.js (npm
// @huggingface/tokenizers) — run by hand; writes fixtures:
//
//   tests/fixtures/tok_families/<name>/tokenizer.json (+ tokenizer_config.json)
//     small tokenizers in each family's real layout (the form transformers'
//     convert_slow_tokenizer writes), built from the committed GPT-2 subset
//     tests/fixtures/tok_gpt2_1500 (real GPT-2 ids) or, for Gemma, a
//     constructed SentencePiece-style BPE vocabulary:
//       gpt2_prefix  GPT-2 with ByteLevel add_prefix_space true
//       opt          GPT-2 BPE, BOS "</s>" by TemplateProcessing
//                    single = [</s>, $A] (OPT prepends </s>, id 2 in OPT;
//                    here an added token)
//       opt_config   the same, BOS from tokenizer_config.json
//                    (add_bos_token true, bos_token "</s>") and a ByteLevel
//                    post_processor; expected ids are opt's
//       neox         GPT-NeoX / Pythia: normalizer NFC, ByteLevel
//                    (add_prefix_space false, GPT-2 regex), no BOS,
//                    <|endoftext|> and <|padding|> added
//       qwen2        Qwen2: normalizer NFC, Sequence[Split(Qwen2 regex,
//                    Isolated), ByteLevel(use_regex false)], no BOS,
//                    <|endoftext|>, <|im_start|>, <|im_end|> added
//       gemma        Gemma: normalizer Replace(" " -> "▁") alone (no
//                    prepend), no pre_tokenizer, BPE with byte_fallback
//                    (<0xNN> pieces; "\t" as a piece instead of <0x09>),
//                    fuse_unk, <bos> by TemplateProcessing,
//                    <start_of_turn>/<end_of_turn> added
//   tests/fixtures/tok_families.jsonl: per (tokenizer, text) the ids
//     tokenizers.js gives and, for the NFC tokenizers, whether NFC changes
//     the text ("nfc_changes": cprune must refuse those texts, since it
//     only checks that text is already NFC).
//
//   mkdir -p /tmp/tokoracle && cd /tmp/tokoracle && npm init -y &&
//     npm install --ignore-scripts @huggingface/tokenizers
//   NODE_PATH=/tmp/tokoracle/node_modules node tests/oracle/tok_oracle_families.mjs
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const NM = process.env.NODE_PATH;
const { Tokenizer } = await import(NM + "/@huggingface/tokenizers/dist/tokenizers.mjs");
const clone = (o) => JSON.parse(JSON.stringify(o));
const base = JSON.parse(readFileSync("tests/fixtures/tok_gpt2_1500/tokenizer.json", "utf8"));
const special = (id, content, normalized = false) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized, special: true });
const template = (bos, id) => ({
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
           { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
    special_tokens: { [bos]: { id: bos, ids: [id], tokens: [bos] } } });
const byteLevelPost = { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true };

const gpt2_prefix = clone(base);
gpt2_prefix.pre_tokenizer.add_prefix_space = true;

const opt = clone(base);
opt.added_tokens = [special(50256, "<|endoftext|>"), special(50257, "</s>"), special(50258, "<pad>")];
opt.post_processor = template("</s>", 50257);
const optCfg = { bos_token: "</s>", eos_token: "</s>", unk_token: "</s>", pad_token: "<pad>",
                 tokenizer_class: "GPT2Tokenizer" };
const opt_config = clone(opt);
opt_config.post_processor = byteLevelPost;
const optConfigCfg = { ...optCfg, add_bos_token: true };

const neox = clone(base);
neox.normalizer = { type: "NFC" };
neox.added_tokens = [special(50256, "<|endoftext|>"), special(50257, "<|padding|>")];
neox.pre_tokenizer = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
neox.post_processor = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
const neoxCfg = { bos_token: "<|endoftext|>", eos_token: "<|endoftext|>",
                  unk_token: "<|endoftext|>", add_bos_token: false, add_eos_token: false,
                  tokenizer_class: "GPTNeoXTokenizer" };

const QWEN2_RE = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const qwen2 = clone(base);
qwen2.normalizer = { type: "NFC" };
qwen2.added_tokens = [special(50256, "<|endoftext|>"), special(50257, "<|im_start|>"),
                      special(50258, "<|im_end|>")];
qwen2.pre_tokenizer = { type: "Sequence", pretokenizers: [
    { type: "Split", pattern: { Regex: QWEN2_RE }, behavior: "Isolated", invert: false },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }] };
qwen2.post_processor = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
const qwen2Cfg = { bos_token: null, eos_token: "<|endoftext|>", pad_token: "<|endoftext|>",
                   unk_token: null, add_prefix_space: false, tokenizer_class: "Qwen2Tokenizer" };

// Gemma: <pad> <eos> <bos> <unk>, 256 byte pieces (<0x09> as "\t"),
// "▁", single characters, then pieces built by merges of common words.
const gv = { "<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3 };
for (let b = 0; b < 256; b++) {
    const hex = b.toString(16).toUpperCase().padStart(2, "0");
    gv[b === 9 ? "\t" : `<0x${hex}>`] = 4 + b;
}
let next = 260;
const add = (p) => { if (!(p in gv)) gv[p] = next++; };
const chars = "▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()\né";
for (const c of chars) add(c);
const words = ["▁the", "▁and", "▁a", "▁to", "▁of", "▁in", "ing", "▁was", "▁he", "▁she",
               "▁it", "er", "on", "▁Once", "▁upon", "▁time", "▁there", "ll", "▁little",
               "▁girl", "▁named", "▁Lily", "▁▁", "▁▁▁▁", "\n\n", "▁caf", "é"];
const gm = [];
const seen = new Set();
for (const w of words) {
    const cs = [...w];
    let cur = cs[0];
    for (let i = 1; i < cs.length; i++) {
        const m = `${cur} ${cs[i]}`;
        cur += cs[i];
        if (!seen.has(m)) { seen.add(m); gm.push(m); }
        add(cur);
    }
}
const sot = next++, eot = next++;
const gemma = {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [special(0, "<pad>"), special(1, "<eos>"), special(2, "<bos>"),
                   special(3, "<unk>"), special(sot, "<start_of_turn>"),
                   special(eot, "<end_of_turn>")],
    normalizer: { type: "Replace", pattern: { String: " " }, content: "\u2581" },
    pre_tokenizer: null,
    post_processor: template("<bos>", 2),
    decoder: { type: "Sequence", decoders: [
        { type: "Replace", pattern: { String: "\u2581" }, content: " " },
        { type: "ByteFallback" }, { type: "Fuse" }] },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null,
             end_of_word_suffix: null, fuse_unk: true, byte_fallback: true,
             ignore_merges: false, vocab: gv, merges: gm },
};
const gemmaCfg = { bos_token: "<bos>", eos_token: "<eos>", pad_token: "<pad>",
                   unk_token: "<unk>", add_bos_token: true, add_eos_token: false,
                   tokenizer_class: "GemmaTokenizer" };

const fams = {
    gpt2_prefix: [gpt2_prefix, { bos_token: "<|endoftext|>", eos_token: "<|endoftext|>",
                                 unk_token: "<|endoftext|>", add_prefix_space: true,
                                 tokenizer_class: "GPT2Tokenizer" }],
    opt: [opt, optCfg],
    opt_config: [opt_config, optConfigCfg],
    neox: [neox, neoxCfg],
    qwen2: [qwen2, qwen2Cfg],
    gemma: [gemma, gemmaCfg],
};
for (const [name, [tj, cfg]] of Object.entries(fams)) {
    mkdirSync(`tests/fixtures/tok_families/${name}`, { recursive: true });
    writeFileSync(`tests/fixtures/tok_families/${name}/tokenizer.json`, JSON.stringify(tj) + "\n");
    writeFileSync(`tests/fixtures/tok_families/${name}/tokenizer_config.json`,
                  JSON.stringify(cfg, null, 2) + "\n");
}

const texts = [
    "Hello world",
    "Once upon a time there was a little girl named Lily.",
    " leading space and trailing  ",
    "I'm sure they'RE here, we'll see; he'd've DON'T 'S",
    "12345 67 8 1234567890 x1y22z333",
    "a  b   c    \n\n  d\t\te \r\n f   ",
    "!!! ?? ...\n\n--- (x) [y] {z} \"q\" 'p'",
    "caf\u00e9 na\u00efve \u00fcber \u4f60\u597d \u00bd \u2167 \ud83d\ude00!",
    "\u03b1\u03b2\u03b3 \u05e9\u05dc\u05d5\u05dd \u0928\u092e\u0938\u094d\u0924\u0947 trade\u2122",
    "x<|endoftext|>y <|im_start|>user\nhi<|im_end|> </s>z <pad>",
    "<start_of_turn>user\nhi<end_of_turn>\n<bos>x<eos>",
    "line one\nline two\r\nline three\n\n\n",
    // NFC changes these: decomposed e + U+0301, OHM SIGN, Hangul jamo
    "cafe\u0301",
    "\u2126 ohm",
    "\u1100\u1161",
    "",
    " ",
];
const out = [];
for (const [name, [tj, cfg]] of Object.entries(fams)) {
    // tokenizers.js takes BOS from the post_processor: opt_config's
    // expected ids are opt's (same vocabulary, </s> first)
    const tok = new Tokenizer(name === "opt_config" ? opt : tj, name === "opt_config" ? optCfg : cfg);
    for (const t of texts) {
        const ids = tok.encode(t).ids;
        const r = { tokenizer: name, text: t, ids };
        if (tj.normalizer && tj.normalizer.type === "NFC") r.nfc_changes = t.normalize("NFC") !== t;
        out.push(r);
        console.log(name, JSON.stringify(t).slice(0, 30), ids.length, ids.slice(0, 10).join(","));
    }
}
writeFileSync("tests/fixtures/tok_families.jsonl", out.map((r) => JSON.stringify(r)).join("\n") + "\n");
