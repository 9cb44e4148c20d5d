"""Llama-2-70B shape (examples/llama.py): `complexity analyze examples/llama_70b.py`."""

from llama import inputs, llama2_70b

model = llama2_70b

__all__ = ["inputs", "model"]
