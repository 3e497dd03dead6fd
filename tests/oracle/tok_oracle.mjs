// tests/oracle/tok_oracle.mjs: an independent tokenizer.json oracle (run by
// hand): Hugging Face tokenizers.js (npm @huggingface/tokenizers) encodes
// the shared corpora, built exactly as data/corpus.c builds them but
// independently here, and prints for each: ntokens, the first 16 ids and
// the sha256 of the ids as little-endian int32 -- the numbers pasted into
// tests/test_data_llama2c_tok.c (the hfbpe cases).
//
//   mkdir -p /tmp/js && cd /tmp/js && npm init -y &&
//     npm install --ignore-scripts @huggingface/tokenizers
//   NODE_PATH=/tmp/js/node_modules node tests/oracle/tok_oracle.mjs \
//     ../shared/models/tinystories-656k
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const { Tokenizer } = await import(
    process.env.NODE_PATH + "/@huggingface/tokenizers/dist/tokenizers.mjs");

const dir = process.argv[2];
const data = (process.env.CPRUNE_DATA || "../shared") + "/data";
const tok = new Tokenizer(JSON.parse(readFileSync(dir + "/tokenizer.json", "utf8")),
                          JSON.parse(readFileSync(dir + "/tokenizer_config.json", "utf8")));

function wikitext(split) {
    const raw = readFileSync(`${data}/wikitext-2-raw/wiki.${split}.raw`, "utf8");
    const lines = raw.match(/[^\n]*\n|[^\n]+$/g);
    return lines.map((l) => (l === " \n" ? "" : l)).join("\n\n");
}
function ptb(split) {
    const raw = readFileSync(`${data}/ptb/ptb.${split}.txt`, "utf8");
    return raw.split("\n").filter((_, i, a) => i < a.length - 1 || a[i] !== "")
        .map((l) => l.trim()).join(" ");
}
const corpora = {
    "tinystories/eval": () => readFileSync(`${data}/tinystories/eval.txt`, "utf8"),
    "wikitext2/test": () => wikitext("test"),
    "ptb/test": () => ptb("test"),
};
for (const [name, get] of Object.entries(corpora)) {
    const text = get();
    const ids = tok.encode(text).ids ?? tok.encode(text);
    const buf = Buffer.alloc(ids.length * 4);
    ids.forEach((v, i) => buf.writeInt32LE(v, i * 4));
    const sha = createHash("sha256").update(buf).digest("hex");
    console.log(`${name}: ${ids.length} [${ids.slice(0, 16).join(", ")}] ${sha}`);
}
