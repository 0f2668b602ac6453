"""Kept for `python -m task_scheduler.peer_import`: the importer lives in peers/importer.py."""

import sys

from .peers.importer import main

if __name__ == "__main__":
    sys.exit(main())
