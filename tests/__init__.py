"""The rtt-topology test suite: shared paths here, shared fixtures in ``conftest.py``."""

from pathlib import Path

#: The repository's root.
ROOT = Path(__file__).resolve().parent.parent
#: Hand-written inputs of the tests.
DATA = ROOT / "tests" / "data"
#: The committed demo datacenter (``rtt-topology demo`` output, with its ground truth).
DEMO = ROOT / "fixtures" / "demo"
#: The demo's trace files: the same traces in three formats.
DEMO_TRACE_FILES = ("jaeger.json", "zipkin.json", "otlp.jsonl")
