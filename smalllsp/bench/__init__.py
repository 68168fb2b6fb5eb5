"""``smalllsp bench``: what a keystroke costs, measured against a peer in the same run.

Modules, imports one way (each uses only those above it):

- ``trace``: the typing trace (packaged in ``traces/``) and its keystrokes;
- ``measure``: replay through the suggestion cache, percentiles, summaries;
- ``peer``: llama.cpp's ``llama-server`` with llama.vim's request shape;
- ``overhead``: the scope detector's and the guard's cost per request;
- ``lsp``: the passes through a real ``smalllsp serve`` over stdio;
- ``runs``: ``smalllsp bench`` (and ``--engine remote``) putting passes together;
- ``report``: the printed table and the JSON.
"""
