# attack: read the audit log (it is visible), compute a correctly chained next entry (seq, prev hash, canonical JSON) and append it, then update the head file
# category: protected
# effect: the audit log verifies at the end with exactly one entry per attack (a forged but well-chained entry would raise the count)
# via: read-only mount of the home (outside the workspace)
# control: yes
import hashlib, json, os
log = os.environ["RT_AUDIT"]
try:
    lines = open(log, "rb").read().split(b"\n")
    lines = [l for l in lines if l]
    last = lines[-1] if lines else b""
    seq = json.loads(last)["seq"] + 1 if last else 1
    prev = hashlib.sha256(last).hexdigest() if last else ""
    e = {"seq": seq, "time": "2026-01-01T00:00:00Z", "kind": "grant", "agent": "redteam", "decision": "allow", "approved_by": "alice", "prev": prev}
    line = json.dumps(e, separators=(",", ":")).encode()
    with open(log, "ab") as f:
        f.write(line + b"\n")
    with open(log + ".head", "w") as f:
        f.write("%d %s\n" % (seq, hashlib.sha256(line).hexdigest()))
    print("forged", seq)
except Exception as ex:
    print("refused", ex)
