"""Make the shared model builders of tests/quant (quant_models) importable (importlib import mode)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
