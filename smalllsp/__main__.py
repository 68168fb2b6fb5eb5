import os
import sys

# `python -m smalllsp` puts the working directory first on sys.path, and
# editors start the server in the workspace folder: a workspace file named
# like a module the server imports (json.py, numpy.py, tree_sitter_go.py)
# would run. Nothing is imported from there.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from smalllsp.cli import main

sys.exit(main())
