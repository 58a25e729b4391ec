"""kernel-harness: judge LLM-written kernels (compiled? correct? how fast? honest?)."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # `from harness import evaluate` without importing torch for those who only need the client.
    if name == "evaluate":
        from .api import evaluate
        return evaluate
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
