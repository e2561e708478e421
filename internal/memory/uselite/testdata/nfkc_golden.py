#!/usr/bin/env python3
"""Writes nfkc.json: test strings and their NFKC form as Node.js (ICU) computes it.

Run from the package directory: python3 testdata/nfkc_golden.py. The strings mix fixed cases with
random sequences of assigned BMP characters weighted towards those that normalisation changes or
reorders (decomposable characters, combining marks, Hangul jamo and syllables).
"""
import json
import random
import subprocess
import unicodedata

random.seed(4)
fixed = [
    "", "plain ascii", "caf\u00e9", "cafe\u0301", "\ufb01ne \ufb02ow", "\uff21\uff22\uff23\uff11\uff12",
    "x\u00b2 + y\u00b3", "wait\u2026", "\u00a0nbsp\u2003em", "\u2160\u2161\u2162", "\u3300\u33ab",
    "\u1100\u1161\u11a8", "\ud55c\uad6d\uc5b4", "\u1112\u1161\u11ab\u1100\u116e\u11a8",
    "a\u0301\u0323", "a\u0323\u0301", "\u1e9b\u0323", "\u0344", "\u0958\u0959", "\uf900\uf901",
    "\ufe8d\ufe8e\ufeb3", "\u2460\u2461", "\u00bd \u2153", "\u212b \u2126", "\u1f80\u0345",
    "\u0041\u030a\u0301", "\u00c5\u0301", "\u0f73\u0f75\u0f81", "e\u0301\u0301", "\u3131\u314f",
    "\ud83d\ude39 emoji \ud83c\udde8\ud83c\uddf3", "\u00df \u1e9e", "\u2126\u00c5\u212a",
]
pool_change, pool_mark, pool_other = [], [], []
for cp in range(0x20, 0x10000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    ch = chr(cp)
    if unicodedata.category(ch) in ("Cn", "Co", "Cs"):
        continue
    if unicodedata.combining(ch):
        pool_mark.append(ch)
    elif unicodedata.normalize("NFKD", ch) != ch or 0x1100 <= cp <= 0x11FF:
        pool_change.append(ch)
    else:
        pool_other.append(ch)
rand = []
for _ in range(400):
    n = random.randint(1, 12)
    s = []
    for _ in range(n):
        r = random.random()
        pool = pool_change if r < 0.45 else pool_mark if r < 0.75 else pool_other
        s.append(random.choice(pool))
    rand.append("".join(s))
inputs = fixed + rand
js = "const xs=JSON.parse(require('fs').readFileSync(0,'utf8'));" \
     "process.stdout.write(JSON.stringify(xs.map(x=>[x,x.normalize('NFKC')])))"
out = subprocess.run(["node", "-e", js], input=json.dumps(inputs).encode(), capture_output=True, check=True)
pairs = json.loads(out.stdout)
node = subprocess.run(["node", "-p", "process.versions.unicode"], capture_output=True, text=True).stdout.strip()
with open("testdata/nfkc.json", "w") as f:
    json.dump({"source": "Node.js %s String.prototype.normalize('NFKC'), Unicode %s" % (
        subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(), node),
        "cases": pairs}, f, ensure_ascii=True, indent=0)
