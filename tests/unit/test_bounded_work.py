"""Issue 16: per-message work that does not grow with a document, and long lines.

Each test checks the result exactly and bounds the time on a 2-core machine
shared with other jobs, with room for that (the unbounded versions took
seconds to minutes on the same inputs).
"""

from __future__ import annotations

import random
import time
from types import SimpleNamespace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from smalllsp import pipeline
from smalllsp.pipeline import Suggestion
from smalllsp.pipeline.context import FIM_OVERHEAD, typed_budget
from smalllsp.cache import SuggestionCache, bounded_key
from smalllsp.config import Config
from smalllsp.context.ring import MAX_LINE_CHARS, ChunkRing
from smalllsp.context.window import MAX_TOKEN_CHARS, Cursor, clip_tokens, place_window
from smalllsp.documents import (
    Document,
    DocumentStore,
    Lines,
    WithLine,
    column_to_index,
    index_to_column,
    split_lines,
)
from smalllsp.engine.fim import TEMPLATES, FimTokens
from smalllsp.syntax.doctree import DocumentTrees, common_prefix, common_suffix
from smalllsp.syntax.languages import parser

UTF8, UTF16, UTF32 = (
    types.PositionEncodingKind.Utf8,
    types.PositionEncodingKind.Utf16,
    types.PositionEncodingKind.Utf32,
)
QWEN = FimTokens(TEMPLATES[0], 1, 2, 3, frozenset(), repo_name=4, file_sep=5)


def units(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == UTF8:
        return len(char.encode("utf-8"))
    if encoding == UTF32:
        return 1
    return 2 if code > 0xFFFF else 1


def reference_column_to_index(line: str, column: int, encoding: str) -> int:
    """The specification, one character at a time (what the server did before: quadratic per didChange)."""
    used = 0
    for index, char in enumerate(line):
        if used + units(char, encoding) > column:
            return index
        used += units(char, encoding)
    return len(line)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab é€😀\t")),
    st.integers(0, 60),
    st.sampled_from([UTF8, UTF16, UTF32]),
)
def test_column_conversion_is_the_specification(line, column, encoding):
    index = column_to_index(line, column, encoding)
    assert index == reference_column_to_index(line, column, encoding)
    assert index_to_column(line, index, encoding) == sum(units(c, encoding) for c in line[:index])


def change(uri, version, edits):
    return types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(version, uri),
        [
            types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(*a), types.Position(*b)), text=t
            )
            for a, b, t in edits
        ],
    )


def test_20000_edits_in_one_did_change_on_a_long_line_are_fast_and_exact():
    line = "é" + "x" * 30_000  # one non-ASCII character: the UTF-16 path, not the ASCII shortcut
    store = DocumentStore()
    store.open(
        types.TextDocumentItem("file:///long.js", "javascript", 1, "head\n" + line + "\ntail\n")
    )
    expected = line
    edits = []
    rng = random.Random(16)
    for _ in range(20_000):
        at = rng.randrange(len(expected) + 1)
        edits.append(
            ((1, at), (1, at), "y")
        )  # UTF-16 column == index: every character here is one unit
        expected = expected[:at] + "y" + expected[at:]
    started = time.perf_counter()
    store.change(change("file:///long.js", 2, edits), UTF16)
    elapsed = time.perf_counter() - started
    assert store.get("file:///long.js").text == "head\n" + expected + "\ntail\n"
    assert elapsed < 3, (
        f"20,000 edits took {elapsed:.2f} s"
    )  # measured 0.2 s (8.7 s before runs on one line; minutes before C-speed columns)


def test_an_edit_on_a_5_mb_line_is_fast_and_exact():
    line = "var a=1;" * (5 * 1024 * 1024 // 8)
    store = DocumentStore()
    store.open(types.TextDocumentItem("file:///min.js", "javascript", 1, line + "\n"))
    middle = len(line) // 2
    started = time.perf_counter()
    for version, encoding in enumerate((UTF16, UTF8, UTF32), start=2):
        store.change(
            change("file:///min.js", version, [((0, middle), (0, middle + 1), "V")]), encoding
        )
    elapsed = time.perf_counter() - started
    doc = store.get("file:///min.js")
    assert doc.text == line[:middle] + "V" + line[middle + 1 :] + "\n"
    assert doc.line(0) == doc.text[:-1] and doc.line(1) == "" and doc.line(2) is None
    assert elapsed < 1.5, (
        f"three edits on a 5 MB line took {elapsed:.2f} s"
    )  # measured 0.1 s with the first scan of the document, 0.02 s per edit after it


@pytest.mark.parametrize(
    "text", ["a\r\nb\rc\n\nd😀\n" * 3 + "end", "a\nb\n\nc😀\n" * 4 + "\n", "", "\r\n\r\r\n\n"]
)
def test_the_lines_view_is_split_lines_from_any_anchor(text):
    expected = split_lines(text)
    for anchor in range(len(expected)):
        start = sum(len(line) for line in expected[:anchor]) + len("".join(_breaks(text)[:anchor]))
        view = Lines(text, anchor, start)
        assert [view[i] for i in reversed(range(len(expected)))] == expected[::-1]
        assert list(Lines(text, anchor, start)) == expected and len(view) == len(expected)
        assert view[-1] == expected[-1] and Lines(text, anchor, start)[1:3] == expected[1:3]
        with pytest.raises(IndexError):
            view[len(expected)]


def _breaks(text):
    import re

    return re.findall(r"\r\n|\r|\n", text)


def test_the_lines_view_reads_only_what_is_asked():
    text = "x = 1\n" * 200_000
    doc = Document("u", "python", 1, text)
    view = doc.lines_view(150_000)
    assert view[150_000 - 40 : 150_000 + 10] == ["x = 1"] * 50
    assert len(view._down) + len(view._up) <= 52  # not 200,000 starts
    assert view[3] == "x = 1" and len(view._up) < 60  # far away: looked up on its own
    text = "a\r\nb\rc\n\nd😀\n" * 3 + "end"
    view = Lines(text)
    replaced = WithLine(view, 1, "B")
    assert list(replaced) == [*split_lines(text)[:1], "B", *split_lines(text)[2:]]
    doc = Document("u", "python", 1, text)
    assert doc.lines_view() is doc.lines_view() and doc.line_count() == len(split_lines(text))


def test_clipped_text_fits_its_budget_without_reading_the_whole():
    read = []

    def tokenize(text):
        read.append(len(text))
        return list(range((len(text) + 2) // 3))  # base64: about three characters a token

    blob = "QUJD" * 2_000_000  # 8 MB
    end = clip_tokens(blob, 100, tokenize, keep="end")
    start = clip_tokens(blob, 100, tokenize, keep="start")
    assert blob.endswith(end) and blob.startswith(start)
    assert 0 < len(tokenize(end)) <= 100 and 0 < len(tokenize(start)) <= 100
    assert max(read) == 100 * MAX_TOKEN_CHARS  # never the whole 8 MB
    assert clip_tokens("short", 100, tokenize, keep="end") == "short"
    assert clip_tokens("short", 0, tokenize, keep="end") == ""


def base64_tokenize(text: str) -> list[int]:
    return [hash(text[i : i + 3]) & 0xFFFF for i in range(0, len(text), 3)]


def test_an_8000_character_cursor_line_gives_a_prompt_within_the_context():
    config = Config()
    runtime = SimpleNamespace(tokenize=base64_tokenize, n_ctx=config.n_ctx, fim=QWEN)
    line = "data = '" + "QmFzZTY0" * 1000  # 8,008 characters: 2,670 tokens typed before the cursor
    lines = ["import base64", "", "def payload():", "    " + line, "    return data"]
    cursor = Cursor(lines, 3, len(lines[3]))
    planned = pipeline.plan(runtime, config, "python", cursor)
    assert len(planned.prompt.tokens) + config.max_tokens <= config.n_ctx
    typed = typed_budget(config, config.n_ctx)
    assert typed == config.prefix_tokens == 1024
    assert typed_budget(Config(prefix_tokens=3000), 4096) == (4096 - 128 - FIM_OVERHEAD) // 2
    assert (
        planned.syntax.head.endswith("QmFzZTY0" * 10)
        and len(base64_tokenize(planned.syntax.head.split("\n")[-1])) <= typed
    )
    # the same line after the cursor: clipped at its end, no line below it fits
    after = Cursor(["x = 1", "y = '" + "QmFzZTY0" * 1000, "z = 2"], 1, 5)
    placement = place_window(after, base64_tokenize, prefix_tokens=100, suffix_tokens=50)
    assert placement.last_line == 1 and len(base64_tokenize(placement.suffix_text)) <= 50


def test_a_prompt_that_cannot_fit_is_refused_with_the_reason():
    # A tokenizer whose count of a whole text is far above the sum of its lines'
    # counts: the window is planned line by line, the prompt checked as a whole.
    def superadditive(text):
        return [0] * (len(text) ** 2 // 100)

    runtime = SimpleNamespace(tokenize=superadditive, n_ctx=4096, fim=QWEN)
    lines = ["abcdefghij"] * 1000 + [""]
    with pytest.raises(
        pipeline.PromptTooLong,
        match=r"^a prompt of \d+ tokens plus max_tokens 128 exceeds the context of 4096$",
    ):
        pipeline.plan(runtime, Config(global_tokens=0), "python", Cursor(lines, 1000, 0))


def test_a_closed_minified_file_leaves_only_short_lines_in_the_ring():
    ring = ChunkRing(8, 32)
    minified = "function a(){return 1};" * 50_000  # 1.1 MB on one line
    ring.note("/w/bundle.min.js", "bundle.min.js", Lines(minified + "\nmodule.exports = a;\n"), 0)
    (chunk,) = ring.chunks()
    assert chunk.text == minified[:MAX_LINE_CHARS] + "\nmodule.exports = a;\n\n"


def test_the_cache_key_is_bounded_and_typing_along_still_hits():
    text = "x = 1\n" * 200_000 + "def f():\n    ret"
    offset = len(text)
    block_start = text.rfind("\n", 0, offset - 10) + 1 - 6 * 30  # some earlier line of the block
    before, after = bounded_key(text, block_start, offset)
    assert len(before) < 40_000 and after == "\x000"
    cache = SuggestionCache()
    cache.store("u", before, after, [Suggestion("urn 42")])
    typed = text + "ur"
    assert [c.text for c in cache.lookup("u", *bounded_key(typed, block_start, offset + 2))] == [
        "n 42"
    ]


def test_common_prefix_and_suffix():
    assert common_prefix("abcdef" * 2000, "abcdef" * 2000) == 12_000
    assert common_prefix("a" * 5000 + "b", "a" * 5000 + "c") == 5000
    assert common_suffix("x" + "a" * 9000, "y" + "a" * 9000, 9001) == 9000
    assert common_suffix("aaaa", "aa", 1) == 1


def test_the_incremental_tree_is_the_tree_of_the_latest_text_and_closing_frees_it():
    seen = []
    trees = DocumentTrees(
        lambda uri, language, version, source, tree: seen.append((uri, version, tree is not None)),
        max_bytes=1 << 20,
    )
    try:
        rng = random.Random(3)
        text = "".join(f"def f{i}(a):\n    return a + {i}  # é😀\n" for i in range(500))
        full = parser("python")
        for version in range(1, 41):
            at = rng.randrange(len(text))
            text = (
                text[:at]
                + rng.choice(["", "x", "\n", "é(", "class C:\n    pass\n"])
                + text[at + rng.randrange(5) :]
            )
            trees.update("file:///a.py", "python", version, text)
            if version % 4 == 0:
                assert trees.wait_idle(30)
                got_version, tree = trees.tree("file:///a.py")
                assert got_version == version and str(tree.root_node) == str(
                    full.parse(text.encode()).root_node
                )
        status = trees.status()
        assert status["parses"] == 1 and status["reparses"] >= 9 and status["trees"] == 1
        assert seen[-1] == ("file:///a.py", 40, True)
        trees.update("file:///big.py", "python", 1, "x = 1\n" * 200_000)  # 1.2 MB: over the limit
        assert trees.wait_idle(30)
        assert trees.tree("file:///big.py") is None and seen[-1] == ("file:///big.py", 1, False)
        trees.close("file:///a.py")
        trees.close("file:///big.py")
        assert trees.tree("file:///a.py") is None and trees.status()["trees"] == 0
    finally:
        trees.stop()


def test_20000_edits_along_a_5_mb_line_cost_the_line_once():
    line = "var a=1;" * (5 * 1024 * 1024 // 8)
    store = DocumentStore()
    store.open(types.TextDocumentItem("file:///min.js", "javascript", 1, line + "\n"))
    edits = [
        ((0, k), (0, k + 1), "b") for k in range(0, 160_000, 8)
    ]  # a replace-all of the first 20,000 "v"
    started = time.perf_counter()
    store.change(change("file:///min.js", 2, edits), UTF16)
    elapsed = time.perf_counter() - started
    assert store.get("file:///min.js").text == "bar a=1;" * 20_000 + line[160_000:] + "\n"
    assert elapsed < 2, (
        f"took {elapsed:.2f} s"
    )  # measured 0.14 s, the first scan of the document included; 20,000 copies of the line took 15 s


@settings(max_examples=200, deadline=None)
# Emptying the line between "\r" and "\n" joins them into one line break.
@example("\ra\na", [(1, 0, 1, ""), (1, 0, 1, "")], UTF8)
@given(
    st.text(alphabet=st.sampled_from("ab\né😀\r"), max_size=30),
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 12),
            st.integers(0, 4),
            st.text(alphabet=st.sampled_from("xé😀\n"), max_size=3),
        ),
        max_size=12,
    ),
    st.sampled_from([UTF8, UTF16, UTF32]),
)
def test_a_batch_applies_like_its_events_one_by_one(text, steps, encoding):
    edits = [((line, column), (line, column + width), new) for line, column, width, new in steps]
    store = DocumentStore()
    store.open(types.TextDocumentItem("file:///a.py", "python", 1, text))
    one_by_one = Document("file:///a.py", "python", 1, text)
    for edit in change("file:///a.py", 2, edits).content_changes:
        one_by_one.apply(edit, encoding)
    store.change(change("file:///a.py", 2, edits), encoding)
    assert store.get("file:///a.py").text == one_by_one.text


def test_an_internal_error_reaches_the_client_without_a_traceback_or_a_path(caplog):
    import concurrent.futures

    from smalllsp.server import create_server

    server = create_server(Config())
    sent = []
    server.protocol._send_response = lambda msg_id, result=None, error=None: sent.append(
        (msg_id, error)
    )
    future = concurrent.futures.Future()
    try:
        raise ValueError(
            "prompt of 5907 tokens exceeds the context; see /srv/smalllsp/completion.py"
        )
    except ValueError as problem:
        future.set_exception(problem)
    with caplog.at_level("ERROR"):
        server.protocol._send_handler_result(future, msg_id=7)
    ((msg_id, error),) = sent
    assert msg_id == 7 and error.code == -32603 and error.data is None
    assert error.message == "smalllsp could not answer: ValueError (the server log has the details)"
    assert (
        "/srv/smalllsp/completion.py" in caplog.text and "Traceback" in caplog.text
    )  # the log has it all


async def test_two_uris_of_one_file_are_one_document_for_the_index(tmp_path):
    import asyncio

    from smalllsp.context.sources import path_of
    from smalllsp.server import create_server
    from smalllsp.workspace.index import WorkspaceIndex

    (tmp_path / "sub").mkdir()
    main, other = (tmp_path / "main.py").as_uri(), (tmp_path / "sub" / ".." / "main.py").as_uri()
    assert main != other and path_of(main) == path_of(other) == str(tmp_path / "main.py")
    server = create_server(Config())
    server.sources.index = index = WorkspaceIndex([tmp_path])
    index.build()
    try:
        for uri in (main, other):
            server.documents.open(
                types.TextDocumentItem(uri, "python", 1, "def shared():\n    return 1\n")
            )
            server.schedule_refresh(uri, 0, edited_line=0)
        for _ in range(100):  # the outline is read off the loop, then set on it
            await asyncio.sleep(0.02)
            if index.outline_of(tmp_path / "main.py") is not None:
                break
        assert [d.name for d in index.outline_of(tmp_path / "main.py").definitions] == ["shared"]
        assert index.stats()["open_documents"] == 1
        server.close_document(
            main
        )  # the other URI is still open: the file stays open for the index
        await asyncio.sleep(0.3)
        assert (
            index.stats()["open_documents"] == 1
            and index.outline_of(tmp_path / "main.py") is not None
        )
        server.close_document(other)
        assert index.stats()["open_documents"] == 0 and server.trees.status()["trees"] == 0
    finally:
        server.trees.stop()


def test_a_request_far_from_the_last_one_gets_a_view_anchored_at_its_cursor():
    doc = Document("u", "python", 1, "x = 1\n" * 200_000 + "end")
    at_end = doc.lines_view(200_000)
    assert doc.lines_view(199_000) is at_end  # near: shared
    far = doc.lines_view(1_000)
    assert far is not at_end and far[1_000] == "x = 1" and far[200_000] == "end"
