import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types

from smalllsp.documents import (
    Document,
    DocumentStore,
    PositionError,
    column_to_index,
    index_to_column,
    split_lines,
)

UTF8, UTF16, UTF32 = (
    types.PositionEncodingKind.Utf8,
    types.PositionEncodingKind.Utf16,
    types.PositionEncodingKind.Utf32,
)
LINE = "s = 'é😀x'"  # é: 2 UTF-8 bytes, 1 UTF-16 unit; 😀: 4 bytes, 2 units


@pytest.mark.parametrize(
    "encoding, column, index",
    [(UTF16, 6, 6), (UTF16, 8, 7), (UTF8, 7, 6), (UTF8, 11, 7), (UTF32, 7, 7)],
)
def test_columns_round_trip_through_non_ascii(encoding, column, index):
    assert column_to_index(LINE, column, encoding) == index
    assert index_to_column(LINE, index, encoding) == column


def test_column_past_the_end_is_the_end_of_the_line():
    assert column_to_index("abc", 99, UTF16) == 3


def test_lines_split_only_at_lsp_line_breaks():
    assert split_lines("a\r\nb\rc\nd\u2028e") == ["a", "b", "c", "d\u2028e"]


def test_incremental_change_in_utf16_and_utf8():
    for encoding, column in ((UTF16, 8), (UTF8, 11)):
        doc = Document("file:///a.py", "python", 1, f"{LINE}\nnext\n")
        start = types.Position(0, column)  # just after the emoji
        doc.apply(
            types.TextDocumentContentChangePartial(range=types.Range(start, start), text="Z"),
            encoding,
        )
        assert doc.text == "s = 'é😀Zx'\nnext\n"


def test_full_change_replaces_the_text():
    doc = Document("file:///a.py", "python", 1, "old")
    doc.apply(types.TextDocumentContentChangeWholeDocument(text="new"), UTF16)
    assert doc.text == "new"


def test_store_keeps_the_old_text_when_a_change_is_bad():
    store = DocumentStore()
    store.open(types.TextDocumentItem("file:///a.py", "python", 1, "abc"))
    bad = types.Range(types.Position(0, 2), types.Position(0, 1))
    good = types.Range(types.Position(0, 0), types.Position(0, 0))
    params = types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(2, "file:///a.py"),
        [
            types.TextDocumentContentChangePartial(range=good, text="x"),
            types.TextDocumentContentChangePartial(range=bad, text="y"),
        ],
    )
    with pytest.raises(PositionError):
        store.change(params, UTF16)
    assert store.get("file:///a.py").text == "abc"


def test_unknown_document_is_a_clear_error():
    with pytest.raises(KeyError, match="not open"):
        DocumentStore().get("file:///nope.py")


def test_position_of_offset_inverts_offset():
    doc = Document("u", "python", 1, "ab\r\ncé😀\nz")
    for offset in range(len(doc.text) + 1):
        if offset > 0 and doc.text[offset - 1] == "\r":
            continue  # inside a \r\n break
        for encoding in (UTF8, UTF16, UTF32):
            assert doc.offset(doc.position(offset, encoding), encoding) == offset


text_st = st.text(alphabet=st.sampled_from(list("ab é😀\n\r\t")), max_size=40)


@given(text_st, st.data())
def test_any_edit_through_positions_equals_the_string_edit(text, data):
    doc = Document("u", "plaintext", 1, text)
    starts = [
        i
        for i in range(len(text) + 1)
        if not (0 < i and text[i - 1] == "\r" and i < len(text) and text[i] == "\n")
    ]
    start = data.draw(st.sampled_from(starts))
    end = data.draw(st.sampled_from([i for i in starts if i >= start]))
    insert = data.draw(text_st)
    encoding = data.draw(st.sampled_from([UTF8, UTF16, UTF32]))
    change = types.TextDocumentContentChangePartial(
        range=types.Range(doc.position(start, encoding), doc.position(end, encoding)), text=insert
    )
    doc.apply(change, encoding)
    assert doc.text == text[:start] + insert + text[end:]
