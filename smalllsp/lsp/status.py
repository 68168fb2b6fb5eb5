"""The server's own requests: ``smalllsp/status`` and ``smalllsp/documentState``, as typed payloads.

Both are read by the editors, the bench and the tests; nothing in them is
document text (a document is told by its version, length and SHA-256).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, TypedDict

from pygls.exceptions import JsonRpcInvalidParams

from smalllsp import __version__
from smalllsp.config import CrossFilePolicy
from smalllsp.speculation import SpeculationStatus

if TYPE_CHECKING:
    from smalllsp.server import SmalllspServer

STATUS_REQUEST = "smalllsp/status"
# What the server holds for one document (version, length, SHA-256; never the text):
# a client, or a test, can check that the server's copy is in step with its own.
DOCUMENT_STATE_REQUEST = "smalllsp/documentState"


class Accepted(TypedDict):
    local: int
    cross_file: int


class ServerStatus(TypedDict):
    """The server's part of ``smalllsp/status`` (the engine's fields come before it)."""

    version: str
    documents: int
    last_generation: dict[str, Any] | None
    suggestion_cache_hits: int
    speculation: SpeculationStatus
    cross_file_policy: CrossFilePolicy
    accepted: Accepted
    withheld: int
    ring_reads: int  # readings of the ring's new chunks into a document's prompt, done while idle
    index: dict[str, Any]
    trees: dict[str, int]
    protocol_futures: int  # futures pygls holds for messages in flight: must not grow


class DocumentState(TypedDict, total=False):
    uri: str
    open: bool
    version: int
    language_id: str
    length: int
    sha256: str


def status(ls: SmalllspServer) -> dict[str, Any]:
    service = ls.service
    own = ServerStatus(
        version=__version__,
        documents=len(ls.documents),
        last_generation=service.last_generation,
        suggestion_cache_hits=service.cache.hits,
        speculation=service.speculation.status(),
        cross_file_policy=ls.config.cross_file_policy,
        accepted=Accepted(
            local=service.accepted["local"], cross_file=service.accepted["cross-file"]
        ),
        withheld=service.withheld,
        ring_reads=service.ring_reads,
        index=ls.sources.status(),
        trees=ls.trees.status(),
        protocol_futures=len(ls.protocol._request_futures),
    )
    return {**ls.engine.status(), **own}


def document_state(ls: SmalllspServer, params: Any) -> DocumentState:
    uri = getattr(params, "uri", None)
    if not isinstance(uri, str):
        raise JsonRpcInvalidParams(message=f"{DOCUMENT_STATE_REQUEST} expects {{'uri': string}}")
    if uri not in ls.documents:
        return DocumentState(uri=uri, open=False)
    doc = ls.documents.get(uri)
    return DocumentState(
        uri=uri,
        open=True,
        version=doc.version,
        language_id=doc.language_id,
        length=len(doc.text),
        sha256=hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
    )
