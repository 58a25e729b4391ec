"""kernel-harness: judge LLM-written kernels (compiled? correct? how fast? honest?)."""

__version__ = "0.1.0"
