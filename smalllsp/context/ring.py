"""A ring buffer of chunks from recently opened or edited files (llama.vim's idea).

Code the user just looked at elsewhere is often what the next completion
needs: the caller of the function being written, the model being filled in.
Chunks are aligned to multiples of their size, so editing within a region
refreshes one chunk instead of adding near-copies, and a chunk too similar to
one already kept replaces it.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Sequence

# Chunks sharing more of their lines than this are the same chunk.
SIMILAR = 0.9
# A line of a chunk is cut to this many characters, so a minified file's
# megabyte line never enters the ring (every later request in every file
# would tokenize it to see whether it fits).
MAX_LINE_CHARS = 512


@dataclasses.dataclass(frozen=True)
class Chunk:
    path: str  # the file it comes from
    relpath: str  # what the prompt calls that file
    first_line: int
    text: str  # whole lines, each ending with "\n"


def similarity(a: str, b: str) -> float:
    """Share of non-blank lines the two texts have in common (Jaccard on line sets)."""
    left = {line.strip() for line in a.splitlines() if line.strip()}
    right = {line.strip() for line in b.splitlines() if line.strip()}
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


class ChunkRing:
    """The most recent ``capacity`` chunks, oldest first. Safe to use from several threads."""

    def __init__(self, capacity: int, chunk_lines: int) -> None:
        self.capacity = capacity
        self.chunk_lines = max(1, chunk_lines)
        self._chunks: tuple[Chunk, ...] = ()
        self._lock = threading.Lock()

    def resize(self, capacity: int, chunk_lines: int) -> None:
        with self._lock:
            self.capacity, self.chunk_lines = capacity, max(1, chunk_lines)
            self._chunks = self._chunks[-capacity:] if capacity > 0 else ()

    def note(self, path: str, relpath: str, lines: Sequence[str], line: int) -> None:
        """Keep the chunk of ``lines`` around ``line`` (the edit or the view)."""
        if self.capacity <= 0 or not lines:
            return
        first = (max(0, min(line, len(lines) - 1)) // self.chunk_lines) * self.chunk_lines
        text = "".join(l[:MAX_LINE_CHARS] + "\n" for l in lines[first : first + self.chunk_lines])
        if not text.strip():
            return
        chunk = Chunk(path, relpath, first, text)
        with self._lock:
            kept = [
                c
                for c in self._chunks
                if not (c.path == path and c.first_line == first)
                and similarity(c.text, text) < SIMILAR
            ]
            kept.append(chunk)
            self._chunks = tuple(kept[-self.capacity :])

    def forget(self, path: str) -> None:
        """Drop the chunks of a file that is gone."""
        with self._lock:
            self._chunks = tuple(c for c in self._chunks if c.path != path)

    def chunks(self) -> tuple[Chunk, ...]:
        return self._chunks


class RingPins:
    """The ring chunks each document's prompt was last read with.

    The chunks sit before the local window in the prompt, and every visit to
    another file changes the ring; a prompt built from the ring as it is now
    would differ, on coming back, from the first tokens of the document's
    saved KV state on, and be read again from cold. So a document's requests
    keep the chunks its prompt was read with, and the ring as it is now is
    read while the user is idle (llama.vim's ring update): once that reading
    is complete, the document's requests use the new chunks. A chunk whose
    file has left the ring (closed, or private) leaves the pin too.
    """

    def __init__(self) -> None:
        self._pins: dict[str, tuple[Chunk, ...]] = {}

    def chunks_for(self, uri: str, ring: tuple[Chunk, ...]) -> tuple[tuple[Chunk, ...], bool]:
        """The chunks to plan ``uri``'s request with, and whether the ring has moved on from them."""
        pinned = self._pins.get(uri)
        if pinned is None:
            return ring, False
        in_ring = {c.path for c in ring}
        kept = tuple(c for c in pinned if c.path in in_ring)
        return kept, kept != ring

    def pin(self, uri: str, chunks: tuple[Chunk, ...]) -> None:
        """``uri``'s prompt has been read with ``chunks``."""
        self._pins[uri] = chunks

    def forget(self, uri: str) -> None:
        self._pins.pop(uri, None)

    def clear(self) -> None:
        self._pins.clear()
