import sys

from smalllsp.cli import main

sys.exit(main())
