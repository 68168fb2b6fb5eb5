"""Everything smalllsp reads from syntax trees, one job per module.

- ``languages/``: one :class:`~smalllsp.syntax.spec.LanguageSpec` per language
  (``spec.py`` defines it), their grammars and parsers;
- ``doctree``: one incremental tree per open document, off the event loop;
- ``scope``: the scope chain at the cursor, and where a candidate leaves it;
- ``symbols``: a file's outline, from ``model`` (the data), ``walker`` (the
  definitions, with ``parameters``, ``python_constructors`` and ``docs``)
  and ``lexer`` (the references);
- ``uses`` and ``builtins``: what a candidate calls and names, and which of
  those names are the language's own.
"""
