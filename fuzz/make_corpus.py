#!/usr/bin/env python3
"""Seed the fuzz corpora from the escargot transcripts.

frame_reader: one file per MSNP connection and direction (a leading fragment-size byte, then
the stream). command_parse: one file per distinct frame (line CRLF payload).
Reads $MSNTV_ESCARGOT_DIR (default ../shared/transcripts/escargot beside the repository)."""
import base64, glob, hashlib, json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
src = os.environ.get("MSNTV_ESCARGOT_DIR") or os.path.join(here, "..", "..", "shared", "transcripts", "escargot")
PAYLOAD = {"s2c": {b"MSG", b"NOT", b"IPG"}, "c2s": {b"MSG", b"QRY", b"SDC", b"PAG"}}

def put(d, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def frames(stream, direction):
    i = 0
    while i < len(stream):
        lf = stream.find(b"\n", i)
        if lf < 0:
            return
        toks = stream[i:lf].rstrip(b"\r").split()
        end = lf + 1
        if toks and toks[0] in PAYLOAD[direction] and toks[-1].isdigit():
            end += int(toks[-1])
        yield stream[i:end]
        i = end

files = sorted(glob.glob(os.path.join(src, "*.json")))
if not files:
    sys.exit(f"no transcripts in {src}")
n = 0
for path in files:
    t = json.load(open(path))
    for conn, desc in t["connections"].items():
        if not desc.startswith(("Notification", "Switchboard")):
            continue
        for d in ("s2c", "c2s"):
            s = b"".join(base64.b64decode(c["b64"]) for c in t["chunks"] if c["conn"] == conn and c["dir"] == d)
            if not s:
                continue
            put(os.path.join(here, "corpus", "frame_reader"), bytes([len(s) % 251]) + s)
            for f in frames(s, d):
                put(os.path.join(here, "corpus", "command_parse"), f)
                n += 1
print(f"seeded from {len(files)} transcripts ({n} frames)")
