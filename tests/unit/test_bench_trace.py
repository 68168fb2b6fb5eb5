from smalllsp.bench.measure import percentile, summarize
from smalllsp.bench.peer import infill_request
from smalllsp.bench.trace import keystrokes
from smalllsp.context.window import Cursor
from smalllsp.documents import Document

SOURCE = "def f(x):\n    if x:\n        return 1\n    return 2\n"


def test_typing_the_lines_back_rebuilds_the_file():
    start, strokes = keystrokes(SOURCE, 1, limit=10_000)
    assert start == "def f(x):\n"
    doc = Document("u", "python", 1, start)
    for stroke in strokes:
        doc.apply(stroke.change, "utf-16")
        assert (
            doc.text == stroke.text
        )  # each change, applied as a client would, gives the recorded text
    assert strokes[-1].text == SOURCE


def test_a_line_break_brings_the_indentation_and_the_limit_holds():
    _, strokes = keystrokes(SOURCE, 1, limit=10_000)
    breaks = [s for s in strokes if "\n" in s.change.text]
    assert [b.change.text for b in breaks] == ["\n        ", "\n    ", "\n"]
    assert len(keystrokes(SOURCE, 1, limit=5)[1]) == 5


def test_summary_separates_cache_hits_from_model_calls():
    generations = [
        {
            "source": "model",
            "n_prompt": 100,
            "n_reused": 0,
            "n_evaluated": 100,
            "n_generated": 10,
            "ms": 1000.0,
        },
        {"source": "cache"},
        {
            "source": "model",
            "n_prompt": 101,
            "n_reused": 100,
            "n_evaluated": 1,
            "n_generated": 5,
            "ms": 200.0,
        },
    ]
    summary = summarize([1000.0, 1.0, 200.0], generations)
    assert (
        summary["model_calls"] == 2
        and summary["suggestion_cache_hits"] == 1
        and summary["kv_prefix_hits"] == 1
    )
    assert summary["model_call_latency_ms"]["p50"] in (200.0, 1000.0)
    assert summary["tokens_per_second"] == (100 + 10 + 1 + 5) / 1.2
    assert percentile([1, 2, 3, 4, 5], 50) == 3 and percentile([], 50) is None


def test_infill_request_has_llama_vim_shape():
    body = infill_request(Cursor(["import os", "def f():", "    ret", "x = 1"], 2, 7))
    assert body["input_prefix"] == "import os\ndef f():\n"
    assert body["prompt"] == "    ret" and body["input_suffix"] == "\nx = 1"
    assert body["cache_prompt"] is True and body["n_indent"] == 4
