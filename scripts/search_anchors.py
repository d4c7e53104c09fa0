#!/usr/bin/env python3
"""Anchor engines for `router-bench search`: the same corpus and queries (`router-bench export`) through
tantivy (BM25), SQLite FTS5 (bm25()) and faiss-cpu IndexFlatIP (exact cosine on normalised vectors).

Driven by scripts/bench-search-anchors.sh; each call is one process, single-threaded, meant to be pinned
with taskset. Timing matches router-bench search: 3 warm-up queries, then `iterations` queries cycling
through queries.jsonl; p = sorted[ceil(p*n) - 1].

  search_anchors.py build  ENGINE CORPUS_DIR INDEX_DIR          (tantivy, fts5: on-disk index, built once)
  search_anchors.py query  ENGINE CORPUS_DIR INDEX_DIR ITERATIONS
  search_anchors.py router ROUTER_OUTPUT_FILE                   (parses router-bench search output: `router` is
                                                                memory_search through the request path,
                                                                `router-store` the bare SearchSnapshot.search)
  search_anchors.py table  RESULTS_FILE                         (medians over rounds, side by side)

Each `query`/`router` prints `RESULT engine mode entries p50_ms p99_ms mean_ms n setup_s` lines.
"""
import json
import math
import os
import re
import sys
import time

# The router's Tokenizer.englishStopWords: tantivy's analyzer drops the same words (documents' lengths
# then match the router's; the queries never contain stop words).
STOP_WORDS = """a an and are as at be but by for if in into is it no not of on or such that the their then there
these they this to was will with i me my we our you your he she him her his its them from has have had do does
did so were been""".split()


def load_corpus(directory):
    with open(os.path.join(directory, "corpus.jsonl"), encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def load_queries(directory):
    with open(os.path.join(directory, "queries.jsonl"), encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def manifest(directory):
    with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as file:
        return json.load(file)


def percentile(sorted_samples, p):
    return sorted_samples[min(len(sorted_samples) - 1, max(0, math.ceil(p * len(sorted_samples)) - 1))]


def timed(run_query, queries, iterations):
    samples = []
    hits = 0
    for iteration in range(-3, iterations):
        query = queries[(iteration + 3) % len(queries)]
        begin = time.perf_counter_ns()
        result = run_query(query)
        elapsed = time.perf_counter_ns() - begin
        if iteration >= 0:
            samples.append(elapsed / 1e6)
            hits += len(result)
    return sorted(samples), hits


def result_line(engine, mode, entries, samples, setup):
    mean = sum(samples) / len(samples)
    return (f"RESULT {engine} {mode} {entries} {percentile(samples, 0.5):.3f} {percentile(samples, 0.99):.3f} "
            f"{mean:.3f} {len(samples)} {setup:.2f}")


# --- tantivy -------------------------------------------------------------------------------------------

def tantivy_analyzer(tantivy):
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(65))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.custom_stopword(STOP_WORDS))
            .build())


def tantivy_schema(tantivy):
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=False, tokenizer_name="router")
    builder.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


def tantivy_build(corpus_dir, index_dir):
    import tantivy
    os.makedirs(index_dir, exist_ok=True)
    schema = tantivy_schema(tantivy)
    index = tantivy.Index(schema, path=index_dir, reuse=False)
    index.register_tokenizer("router", tantivy_analyzer(tantivy))
    writer = index.writer(heap_size=512_000_000, num_threads=1)
    for entry in load_corpus(corpus_dir):
        writer.add_document(tantivy.Document(text=entry["text"], id=entry["id"]))
    writer.commit()
    writer.wait_merging_threads()


def tantivy_query(corpus_dir, index_dir, iterations):
    import tantivy
    schema = tantivy_schema(tantivy)
    started = time.perf_counter()
    index = tantivy.Index.open(index_dir)
    index.register_tokenizer("router", tantivy_analyzer(tantivy))
    index.reload()
    searcher = index.searcher()
    setup = time.perf_counter() - started
    limit = manifest(corpus_dir)["limit"]

    def run(query):
        clauses = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "text", term)) for term in query["terms"]]
        result = searcher.search(tantivy.Query.boolean_query(clauses), limit)
        return [searcher.doc(address)["id"][0] for _, address in result.hits]

    samples, hits = timed(run, load_queries(corpus_dir), iterations)
    print(f"tantivy: {searcher.num_segments} segment(s), {searcher.num_docs} docs, mean hits {hits / len(samples):.1f}",
          file=sys.stderr)
    return samples, setup


# --- SQLite FTS5 ---------------------------------------------------------------------------------------

def fts5_build(corpus_dir, index_dir):
    import sqlite3
    os.makedirs(index_dir, exist_ok=True)
    path = os.path.join(index_dir, "fts5.db")
    if os.path.exists(path):
        os.remove(path)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("CREATE VIRTUAL TABLE docs USING fts5(text, id UNINDEXED)")
    connection.executemany("INSERT INTO docs(text, id) VALUES (?, ?)",
                           ((entry["text"], entry["id"]) for entry in load_corpus(corpus_dir)))
    connection.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    connection.commit()
    connection.close()


def fts5_query(corpus_dir, index_dir, iterations):
    import sqlite3
    started = time.perf_counter()
    connection = sqlite3.connect(os.path.join(index_dir, "fts5.db"))
    connection.execute("PRAGMA mmap_size=4294967296")
    connection.execute("PRAGMA cache_size=-262144")
    setup = time.perf_counter() - started
    limit = manifest(corpus_dir)["limit"]
    statement = "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?"

    def run(query):
        match = " OR ".join('"' + term.replace('"', '""') + '"' for term in query["terms"])
        return connection.execute(statement, (match, limit)).fetchall()

    samples, _ = timed(run, load_queries(corpus_dir), iterations)
    return samples, setup


# --- faiss ---------------------------------------------------------------------------------------------

def faiss_query(corpus_dir, _index_dir, iterations):
    import faiss
    import numpy
    faiss.omp_set_num_threads(1)
    info = manifest(corpus_dir)
    dimension = info["dimension"]
    started = time.perf_counter()
    vectors = numpy.fromfile(os.path.join(corpus_dir, "embeddings.f32"), dtype="<f4").reshape(-1, dimension)
    faiss.normalize_L2(vectors)
    index = faiss.IndexFlatIP(dimension)
    index.add(vectors)
    del vectors
    setup = time.perf_counter() - started
    raw = numpy.fromfile(os.path.join(corpus_dir, "queries.f32"), dtype="<f4").reshape(-1, dimension)
    queries = [raw[i:i + 1].copy() for i in range(raw.shape[0])]
    limit = info["limit"]
    width = max(6, len(str(info["entries"])))

    def run(query):
        query = query.copy()
        faiss.normalize_L2(query)
        _, labels = index.search(query, limit)
        return [f"mem-{label + 1:0{width}d}" for label in labels[0]]

    samples, _ = timed(run, queries, iterations)
    return samples, setup


# --- router-bench output -------------------------------------------------------------------------------

def milliseconds(value, unit):
    return float(value) * (1000 if unit == "s" else 1)


def parse_router(path):
    setup = 0.0
    for line in open(path, encoding="utf-8"):
        built = re.search(r"^(\d+) entries: generated in ([\d.]+) (ms|s), indexed in memory in ([\d.]+) (ms|s)", line)
        if built:
            setup = milliseconds(built.group(4), built.group(5)) / 1000
        timing = re.search(r"(memory_search|store search) (BM25 only|cosine only|hybrid \(.*?\)), (\d+) entries: "
                           r"p50 ([\d.]+) (ms|s), p99 ([\d.]+) (ms|s), mean ([\d.]+) (ms|s).*\(n=(\d+)\)", line)
        if timing:
            engine = "router" if timing.group(1) == "memory_search" else "router-store"
            mode = {"BM25 only": "bm25", "cosine only": "cosine"}.get(timing.group(2), "hybrid")
            print(f"RESULT {engine} {mode} {timing.group(3)} {milliseconds(timing.group(4), timing.group(5)):.3f} "
                  f"{milliseconds(timing.group(6), timing.group(7)):.3f} "
                  f"{milliseconds(timing.group(8), timing.group(9)):.3f} {timing.group(10)} {setup:.2f}")


def table(path):
    rows = {}
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if len(parts) != 9 or parts[0] != "RESULT":
            continue
        _, engine, mode, entries, p50, p99, _, _, setup = parts
        rows.setdefault((int(entries), mode, engine), []).append((float(p50), float(p99), float(setup)))

    def median(values):
        values = sorted(values)
        return values[len(values) // 2] if len(values) % 2 else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2

    print("| entries | mode | engine | p50 ms | p99 ms | p50 per round | router ÷ engine, p50 (per round) "
          "| router-store ÷ engine, p50 (per round) | setup per round, s |")
    print("|---|---|---|---|---|---|---|---|---|")

    def ratios(ours, samples):
        # Rounds are interleaved: round i of the router ran next to round i of this engine.
        if not ours:
            return "—"
        values = [r[0] / s[0] for r, s in zip(ours, samples)]
        return f"{median(values):.2f}× ({', '.join(f'{value:.2f}' for value in values)})"

    order = {"router": 0, "router-store": 1, "tantivy": 2, "fts5": 3, "faiss": 4}
    for entries in sorted({key[0] for key in rows}):
        for mode in ("bm25", "cosine", "hybrid"):
            engines = [key for key in rows if key[0] == entries and key[1] == mode]
            router = rows.get((entries, mode, "router"))
            store = rows.get((entries, mode, "router-store"))
            for key in sorted(engines, key=lambda key: order.get(key[2], 9)):
                samples = rows[key]
                ours = not key[2].startswith("router")
                print(f"| {entries:,} | {mode} | {key[2]} | {median([s[0] for s in samples]):.3f} | "
                      f"{median([s[1] for s in samples]):.3f} | {', '.join(f'{s[0]:.3f}' for s in samples)} | "
                      f"{ratios(router, samples) if ours else '—'} | {ratios(store, samples) if ours else '—'} | "
                      f"{median([s[2] for s in samples]):.2f} |")


def main(arguments):
    if len(arguments) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command = arguments[1]
    if command == "build" and len(arguments) == 5:
        engine, corpus_dir, index_dir = arguments[2:5]
        started = time.perf_counter()
        {"tantivy": tantivy_build, "fts5": fts5_build}[engine](corpus_dir, index_dir)
        print(f"BUILD {engine} {manifest(corpus_dir)['entries']} {time.perf_counter() - started:.2f}")
        return 0
    if command == "query" and len(arguments) == 6:
        engine, corpus_dir, index_dir, iterations = arguments[2:6]
        samples, setup = {"tantivy": tantivy_query, "fts5": fts5_query, "faiss": faiss_query}[engine](
            corpus_dir, index_dir, int(iterations))
        mode = "cosine" if engine == "faiss" else "bm25"
        print(result_line(engine, mode, manifest(corpus_dir)["entries"], samples, setup))
        return 0
    if command == "router" and len(arguments) == 3:
        parse_router(arguments[2])
        return 0
    if command == "table" and len(arguments) == 3:
        table(arguments[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
