#!/usr/bin/python3
"""tests/oracle/tok_nfc_cases.py: writes tests/fixtures/tok_nfc_cases.jsonl,
random short strings and whether Unicode NFC leaves them unchanged
(Python's unicodedata.normalize, independent of data/tok_nfc.c). The C test
data_tok_families/nfc_quick_check requires that cprune's check never
accepts a string NFC changes, and accepts the unchanged ones made only of
characters without composition behaviour.

  /usr/bin/python3 tests/oracle/tok_nfc_cases.py
"""
import json
import os
import random
import unicodedata

POOL = (
    "aeiouAEOnNcCsz ,.-'"                      # ASCII letters that compose
    "\u00e9\u00fc\u00f1\u00c5\u0107\u01d7"     # precomposed Latin
    "\u0300\u0301\u0302\u0308\u0323\u0327\u030d\u0358\u0345"  # combining marks
    "\u2126\u212b\u212a\u0344\u0374\u037e\u0958\uf900"        # singletons, exclusions
    "\u1100\u1161\u11a8\uac00\uac01"           # Hangul L, V, T, LV, LVT
    "\u0928\u094d\u093c\u0915\u0bc6\u0bbe"     # Devanagari virama, nukta; Tamil
    "\u03b1\u03ac\u0391\u1f71"                 # Greek, with oxia singleton
    "\u4f60\u3099\u304b\u304c"                 # CJK, kana, combining voiced mark
    "\U0001f600\u2122"
)


def main():
    rng = random.Random(20261204)
    out = []
    for i in range(1500):
        s = "".join(rng.choice(POOL) for _ in range(rng.randint(1, 6)))
        out.append({"text": s, "nfc_unchanged": unicodedata.normalize("NFC", s) == s})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                        "tok_nfc_cases.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(sum(r["nfc_unchanged"] for r in out), "of", len(out), "unchanged")


if __name__ == "__main__":
    main()
