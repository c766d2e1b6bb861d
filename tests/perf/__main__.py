"""python -m tests.perf [SUITE ...] [--scale small|full] [--db sqlite|postgresql] [--json FILE]"""
import sys

from tests.perf.harness import main

sys.exit(main())
