"""LSP items from suggestions: inline items, classic completion items, the accept command."""

from __future__ import annotations

from lsprotocol import types

from smalllsp.context.window import Cursor
from smalllsp.documents import index_to_column
from smalllsp.guard import Verdict
from smalllsp.pipeline import Suggestion

SUGGESTION_LABEL = "smalllsp · model suggestion"
# Executed by the client when a suggestion is accepted; carries the verdict.
ACCEPTED_COMMAND = "smalllsp.accepted"


def inline_list(
    suggestions: list[Suggestion], position: types.Position
) -> types.InlineCompletionList:
    """The suggestions as ghost text at the cursor, best first."""
    here = types.Range(position, position)
    return types.InlineCompletionList(
        items=[
            types.InlineCompletionItem(
                insert_text=s.text, range=here, command=accepted_command(s.verdict)
            )
            for s in suggestions
        ]
    )


def completion_list(
    cursor: Cursor, position: types.Position, suggestions: list[Suggestion], encoding: str
) -> types.CompletionList:
    """The suggestions as classic completion items (always incomplete: the next keystroke asks again)."""
    return types.CompletionList(
        is_incomplete=True,
        items=[
            completion_item_for(cursor, position, s, encoding, rank)
            for rank, s in enumerate(suggestions)
        ],
    )


def accepted_command(verdict: Verdict) -> types.Command:
    """The command an inline item carries: the client runs it on accept, and
    shows its title (the verdict) next to a flagged suggestion."""
    title = "smalllsp: local"
    if verdict.cross_file:
        title = "smalllsp: cross-file — " + (
            verdict.reasons[0] if verdict.reasons else "depends on other files"
        )
    return types.Command(title=title, command=ACCEPTED_COMMAND, arguments=[verdict.as_dict()])


def completion_item_for(
    cursor: Cursor,
    position: types.Position,
    suggestion: Suggestion,
    encoding: str,
    rank: int = 0,
) -> types.CompletionItem:
    """A classic completion item carrying the suggestion, for clients without inline completion.

    Its edit replaces the word typed so far with that word plus the
    suggestion, so the client's own filtering by the word keeps the item.
    """
    text, verdict = suggestion.text, suggestion.verdict
    word_start = cursor.column
    while word_start > 0 and (
        cursor.before[word_start - 1].isalnum() or cursor.before[word_start - 1] == "_"
    ):
        word_start -= 1
    word = cursor.before[word_start:]
    line = cursor.lines[cursor.line]
    start = types.Position(
        position.line,
        position.character - _units_between(line, word_start, cursor.column, encoding),
    )
    first_line = text.strip().split("\n", 1)[0]
    documentation = f"```\n{word + text}\n```"
    if verdict.cross_file:
        documentation = "**cross-file**: " + "; ".join(verdict.reasons) + "\n\n" + documentation
    return types.CompletionItem(
        label=(word + first_line)[:80] or first_line[:80],
        kind=types.CompletionItemKind.Snippet,
        detail=SUGGESTION_LABEL + (" (cross-file)" if verdict.cross_file else ""),
        label_details=types.CompletionItemLabelDetails(
            description="smalllsp · cross-file" if verdict.cross_file else "smalllsp"
        ),
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=documentation),
        command=accepted_command(verdict),
        filter_text=word + text,
        sort_text=f"{rank:02d}",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=types.Range(start, position), new_text=word + text),
    )


def _units_between(line: str, start: int, end: int, encoding: str) -> int:
    return index_to_column(line, end, encoding) - index_to_column(line, start, encoding)
