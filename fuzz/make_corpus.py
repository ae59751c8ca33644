#!/usr/bin/env python3
"""Seed the fuzz corpora from the escargot and WTVP transcripts.

frame_reader: one file per MSNP connection and direction (a leading fragment-size byte, then
the stream). command_parse: one file per distinct frame (line CRLF payload).
Reads $MSNTV_ESCARGOT_DIR (default ../shared/transcripts/escargot beside the repository).

wtvp_client: per recorded WTVP session ($MSNTV_WTVP_TRANSCRIPTS_DIR, default
../shared/transcripts/wtvp), the operations tests/wtvp_replay.rs performs, in the target's
record format (fuzz_targets/wtvp_client.rs): the recorded server messages, each split in two,
the requests the recorded client made, closes before each new SECURE connection and repeated
sign-ins after a refused attempt; one seed per piece size
and one per prefix that ends after a server message."""
import base64, glob, hashlib, json, os, struct, sys

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

def wtvp_seeds(session):
    """Yield (ops, prefix_ends) for one WTVP session, mirroring tests/wtvp_replay.rs."""
    ops, ends = [], []
    def data(b):
        ops.append(b"\x00" + struct.pack("<H", len(b)) + b)
    def issue(dec):
        url = dec.split(b"\r\n", 1)[0][4:]
        q = url.find(b"?")
        if q >= 0 and url.startswith(b"wtv-passport:/messengerlogin"):
            ops.append(b"\x04" + struct.pack("<H", len(url) - q - 1) + url[q + 1:])
        else:
            ops.append(b"\x05" + struct.pack("<H", len(url)) + url)
    for ci, c in enumerate(session["connections"]):
        purpose, secure = c.get("purpose", ""), bool(c.get("secure"))
        msgs = c.get("messages", [])
        decs = [bytes.fromhex(m["decrypted_hex"]) for m in msgs if "decrypted_hex" in m]
        stage_two = purpose.startswith("wtv-head-waiter:/login-stage-two")
        driven = not secure and purpose.startswith(("wtv-1800:/preregister", "wtv-head-waiter:/login"))
        replayable = secure and not stage_two and not any(b"\r\nwtv-incarnation:" in d.lower() for d in decs)
        if not (driven or stage_two or replayable):
            continue
        if replayable:
            ops.append(b"\x01")
        if driven and ci > 0:
            ops.append(b"\x06")
        for m in msgs:
            if m["direction"] == "client->server":
                if "decrypted_hex" in m and not stage_two:
                    issue(bytes.fromhex(m["decrypted_hex"]))
            else:
                w = bytes.fromhex(m["wire_hex"])
                data(w[:len(w) // 2])
                data(w[len(w) // 2:])
                ends.append(len(ops))
        # A recorded close after the last response is not replayed: by then the client has
        # moved to its next connection (the harness opens connections at once).
    return ops, ends

wsrc = os.environ.get("MSNTV_WTVP_TRANSCRIPTS_DIR") or os.path.join(here, "..", "..", "shared", "transcripts", "wtvp")
wfiles = sorted(glob.glob(os.path.join(wsrc, "*.json")))
if not wfiles:
    sys.exit(f"no WTVP sessions in {wsrc}")
n = 0
for path in wfiles:
    session = json.load(open(path))
    inc = int(session.get("client_profile", {}).get("first_incarnation", 0)) & 0xFF
    ops, ends = wtvp_seeds(session)
    for piece in (0, 1, 40):
        put(os.path.join(here, "corpus", "wtvp_client"), bytes([inc, piece]) + b"".join(ops))
        n += 1
    for e in ends:
        put(os.path.join(here, "corpus", "wtvp_client"), bytes([inc, 0]) + b"".join(ops[:e]))
        n += 1
print(f"seeded wtvp_client from {len(wfiles)} WTVP sessions ({n} inputs)")
