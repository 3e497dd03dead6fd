#!/usr/bin/python3
"""tests/oracle/tok_oracle.py: LLaMA-2 token ids from SentencePiece itself.

An oracle independent of llama2.c: Google's sentencepiece library (Debian
python3-sentencepiece) encodes the shared corpora with the LLaMA-2
tokenizer.model (../shared/models/llama2-tokenizer/tokenizer.model), BOS
(id 1) prepended as LlamaTokenizer(add_bos_token=True) does. The corpus
strings are rebuilt here independently of data/corpus.c:
  tinystories/eval  the file as is
  wikitext2/test    HF rows (" \\n" lines -> "", others kept with their
                    newline) joined with "\\n\\n" (sha256 696cca6b...)
  ptb/test          the HF ptb_text_only 'sentence' of each line (the line
                    with surrounding whitespace stripped) joined with " "
For each corpus it prints, and writes as JSON lines to the output file
(tests/fixtures/tok_llama2_sentencepiece.jsonl), the number of ids, the
first 16, the sha256 of the ids as little-endian int32, plus the same for
the first 20,000 bytes ("head" cases, cut back to a UTF-8 boundary).

  /usr/bin/python3 tests/oracle/tok_oracle.py \\
      ../shared/models/llama2-tokenizer/tokenizer.model \\
      tests/fixtures/tok_llama2_sentencepiece.jsonl
"""
import hashlib
import json
import os
import struct
import sys

import sentencepiece as spm

DATA = os.environ.get("CPRUNE_DATA", "../shared")


def corpus(name):
    if name == "tinystories/eval":
        return open(f"{DATA}/data/tinystories/eval.txt", "rb").read().decode("utf-8")
    if name == "wikitext2/test":
        with open(f"{DATA}/data/wikitext-2-raw/wiki.test.raw", encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")
        rows = [l + "\n" for l in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
        return "\n\n".join("" if r == " \n" else r for r in rows)
    if name == "ptb/test":
        with open(f"{DATA}/data/ptb/ptb.test.txt", encoding="utf-8") as f:
            return " ".join(line.strip() for line in f)
    raise SystemExit(f"unknown corpus {name}")


def record(name, ids, nbytes):
    raw = struct.pack(f"<{len(ids)}i", *ids)
    return {"corpus": name, "bytes": nbytes, "ntokens": len(ids),
            "first_ids": ids[:16], "sha256": hashlib.sha256(raw).hexdigest()}


def main():
    sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
    out = []
    for name in ("tinystories/eval", "wikitext2/test", "ptb/test"):
        text = corpus(name)
        full = [1] + sp.encode(text)
        out.append(record(name, full, len(text.encode("utf-8"))))
        head = text.encode("utf-8")[:20000].decode("utf-8", errors="ignore")
        out.append(record(name + "@20000", [1] + sp.encode(head), len(head.encode("utf-8"))))
    with open(sys.argv[2], "w") as f:
        for r in out:
            print(json.dumps(r))
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
