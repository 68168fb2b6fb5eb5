"""smalllsp: local-first code completion over LSP from a small GGUF model running in-process."""

__version__ = "0.1.0"
