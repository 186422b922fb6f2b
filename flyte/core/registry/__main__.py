"""`python -m flyte.core.registry`: list, roll back and clean a model registry from the shell."""

import sys

from flyte.core.registry.cli import main

sys.exit(main(sys.argv[1:]))
