"""`python -m nn2hls ...` runs the command line (same as the `nn2hls` console script)."""
import sys

from nn2hls.cli import main

sys.exit(main())
