"""Builds train.jsonl and holdout.jsonl from calls-scam.txt and calls-legit.txt.

Format: '## <id> <train|holdout>' starts a call, then 'C: text' (caller) or
'E: text' (callee, the subscriber) lines. Timestamps `t` are synthetic:
each turn starts after the previous one, lasting 1 s + 0.4 s per word.
Deterministic: run `python3 data/build.py` from the crate root.
"""
import json, os
here = os.path.dirname(os.path.abspath(__file__))
out = {"train": [], "holdout": []}
for name, label in (("calls-scam.txt", "scam"), ("calls-legit.txt", "legit")):
    call = None
    for line in open(os.path.join(here, name), encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("## "):
            cid, split = line[3:].split()
            call = {"id": cid, "label": label, "turns": []}
            out[split].append(call)
            t = 0.0
        elif line[:3] in ("C: ", "E: "):
            text = line[3:]
            call["turns"].append({"speaker": "caller" if line[0] == "C" else "callee", "text": text, "t": round(t, 1)})
            t += 1.0 + 0.4 * len(text.split())
for split, calls in out.items():
    with open(os.path.join(here, split + ".jsonl"), "w", encoding="utf-8") as f:
        for c in calls:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    s = sum(c["label"] == "scam" for c in calls)
    print(split, len(calls), "calls:", s, "scam,", len(calls) - s, "legit")
