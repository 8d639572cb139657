"""``python -m glasslens`` runs the ``glasslens`` command line."""
import sys

from .cli import main

sys.exit(main())
