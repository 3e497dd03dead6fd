#!/usr/bin/python3
"""tests/oracle/llama2c_tokenize.py: token streams for the perplexity oracle.

An independent re-implementation of llama2.c's encode() (run.c: BOS, the
dummy-prefix space, UTF-8 codepoint lookup with <0xNN> byte fallback at id
byte+3, then repeated merging of the adjacent pair with the highest vocab
score, leftmost on ties) using a heap instead of run.c's O(n^2) rescans,
plus the evaluation strings of the shared corpora:
  tinystories/eval: the file as is
  wikitext2/test:   HF rows (" \\n" lines -> "", others kept with their
                    newline) joined with "\\n\\n" (sha256 696cca6b...)
  ptb/test:         lines stripped, joined with " " (SparseGPT)
Writes raw little-endian int32 ids and prints count, first ids, sha256.
Checked: stories260K tok512.bin on tinystories/eval gives the public
reference (199,225 tokens, sha256 05efe68b...).

  /usr/bin/python3 tests/oracle/llama2c_tokenize.py \\
      ../shared/models/stories260K/tok512.bin 512 tinystories/eval /tmp/ts.i32
"""
import hashlib
import heapq
import os
import struct
import sys

import numpy as np

DATA = os.environ.get("CPRUNE_DATA", "../shared")


def corpus(name):
    if name == "tinystories/eval":
        return open(f"{DATA}/data/tinystories/eval.txt", "rb").read()
    if name == "wikitext2/test":
        lines = open(f"{DATA}/data/wikitext-2-raw/wiki.test.raw", encoding="utf-8").read().splitlines(keepends=True)
        return "\n\n".join("" if l == " \n" else l for l in lines).encode("utf-8")
    if name == "ptb/test":
        lines = open(f"{DATA}/data/ptb/ptb.test.txt", encoding="utf-8").read().splitlines()
        return " ".join(l.strip() for l in lines).encode("utf-8")
    raise SystemExit(f"unknown corpus {name}")


def load(path, vocab_size):
    raw = open(path, "rb").read()
    off, vocab, scores = 4, [], []
    for _ in range(vocab_size):
        sc, ln = struct.unpack_from("<fi", raw, off)
        off += 8
        vocab.append(raw[off:off + ln])
        scores.append(sc)
        off += ln
    return vocab, scores


def encode(text, vocab, scores):
    lut = {}
    for i, v in enumerate(vocab):
        lut.setdefault(v, i)
    toks = [1]
    if text:
        toks.append(lut[b" "])
    i = 0
    while i < len(text):
        j, buf = i + 1, text[i:i + 1]
        while j < len(text) and (text[j] & 0xC0) == 0x80 and len(buf) < 4:
            buf += text[j:j + 1]
            j += 1
        if buf in lut:
            toks.append(lut[buf])
        else:
            toks.extend(b + 3 for b in buf)
        i = j
    n, tok = len(toks), toks[:]
    alive, nxt, prv = [True] * n, list(range(1, n + 1)), list(range(-1, n - 1))
    heap = []

    def push(a):
        b = nxt[a]
        if b < n:
            idd = lut.get(vocab[tok[a]] + vocab[tok[b]])
            if idd is not None:
                heapq.heappush(heap, (-scores[idd], a, b, tok[a], tok[b], idd))

    for a in range(n - 1):
        push(a)
    while heap:
        _, a, b, ta, tb, idd = heapq.heappop(heap)
        if not (alive[a] and alive[b] and nxt[a] == b and tok[a] == ta and tok[b] == tb):
            continue
        tok[a], alive[b], nxt[a] = idd, False, nxt[b]
        if nxt[b] < n:
            prv[nxt[b]] = a
        if prv[a] >= 0:
            push(prv[a])
        push(a)
    return [tok[i] for i in range(n) if alive[i]]


if __name__ == "__main__":
    tokp, vs, name, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ids = np.array(encode(corpus(name), *load(tokp, vs)), dtype="<i4")
    ids.tofile(out)
    print(len(ids), ids[:16].tolist(), hashlib.sha256(ids.tobytes()).hexdigest())
