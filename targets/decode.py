"""One decode step of a Hugging Face causal LM: a new token per sequence, a KV cache of N.

The cache is transformers' own `DynamicCache(config=...)`, the cache `generate` uses,
which knows each layer's kind (full attention grows; a sliding-window layer keeps its
window). Its per-layer key/value shapes come from the model itself: a one-token forward on
meta fills a probe cache, so kv heads, head dims and dtypes are whatever the architecture
makes (MHA, GQA, MQA alike). Each layer is then filled with N tokens by its own `update`
(a sliding layer cuts itself to its window) outside the trace, and inside the traced
forward a fresh cache gets those tensors as graph inputs: the step reads them, and the
keys and values it appends reach the graph's outputs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from complexity.analyzer.serving import CacheLayer, KVCache

from .huggingface import is_causal_lm
from .spec import TargetError

# The layer classes whose state is a key and a value tensor [batch, heads, tokens, dim].
SUPPORTED_LAYERS = ("DynamicLayer", "DynamicSlidingWindowLayer")
KV_DTYPES = ("float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "int8")


@dataclass
class DecodeInputs:
    """What `analyze` needs for one decode step: token ids first, then every layer's K, V."""

    inputs: tuple[Any, ...]
    cache: KVCache
    label: str
    notes: list[str]


def check_kv_dtype(name: str | None) -> str | None:
    if name is not None and name not in KV_DTYPES:
        raise TargetError(f"unknown --kv-dtype {name!r}; use one of: {', '.join(KV_DTYPES)}")
    return name


def _keyword(forward: Any) -> str:
    """transformers 5 calls the cache `cache`; earlier versions `past_key_values`."""
    parameters = inspect.signature(forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def _probe(model: Any, config: Any, forward: Any, batch: int) -> Any:
    """A cache after a one-token forward on meta: each layer's class, kv heads, dims, dtype."""
    import torch
    from transformers import DynamicCache

    probe = DynamicCache(config=config)
    ids = torch.zeros((batch, 1), dtype=torch.int64, device="meta")
    with torch.no_grad(), torch.device("meta"):
        forward(input_ids=ids, **{_keyword(forward): probe}, use_cache=True)
    return probe


def _moe_note(config: Any) -> str | None:
    experts = getattr(config, "num_local_experts", None) or getattr(config, "num_experts", None)
    top_k = getattr(config, "num_experts_per_tok", None)
    if not experts or not top_k:
        return None
    return (
        f"mixture of experts: each token's top-{top_k} of {experts} experts counted "
        "(transformers' batched_mm experts: the routed experts' weights are gathered per "
        "token, so weight bytes grow with batch × top-k until every expert is read)"
    )


def prepare_decode(
    model: Any, context: int, batch: int, kv_dtype: str | None = None
) -> DecodeInputs:
    """Turn a causal LM built on meta into one decode step after `context` tokens.

    Sets `model.forward` (on the instance, so module names stay HF's) to a forward that
    rebuilds the cache from its tensor arguments and returns the logits and the cache.
    """
    import torch
    from transformers import DynamicCache

    config = model.config
    if context <= 0:
        raise TargetError(f"--context {context} is not a positive number of cached tokens")
    limit = getattr(config, "max_position_embeddings", None)
    if limit and context + 1 > limit:
        raise TargetError(
            f"--context {context} leaves no position for the new token: this "
            f"{config.model_type} model has {limit}; give --context {limit - 1} or less, or "
            f"--model-arg max_position_embeddings={context + 1}"
        )
    if hasattr(config, "_experts_implementation") and _moe_note(config):
        # The routed experts as batched matmuls: shapes only, so the routing traces on meta.
        config._experts_implementation = "batched_mm"
    forward = model.__class__.forward.__get__(model)
    try:
        probe = _probe(model, config, forward, batch)
    except Exception as error:  # the model's own code: say what failed, in one line
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise TargetError(
            f"{type(model).__name__} could not run a one-token step with a cache on meta "
            f"({type(error).__name__}: {message}); --decode needs a model that takes "
            "transformers' DynamicCache"
        ) from None
    kinds = {type(layer).__name__ for layer in probe.layers}
    unsupported = sorted(kinds - set(SUPPORTED_LAYERS))
    if unsupported:
        raise TargetError(
            f"--decode counts key/value caches ({', '.join(SUPPORTED_LAYERS)}); "
            f"{type(model).__name__}'s cache has {', '.join(unsupported)} layers"
        )

    template = DynamicCache(config=config)
    tensors: list[Any] = []
    layers: list[CacheLayer] = []
    with torch.device("meta"):
        for filled, probed in zip(template.layers, probe.layers, strict=True):
            keys, values = probed.keys, probed.values
            key = torch.empty((*keys.shape[:2], context, keys.shape[3]), dtype=keys.dtype)
            value = torch.empty((*values.shape[:2], context, values.shape[3]), dtype=values.dtype)
            filled.update(key, value)  # the layer's own rule: a sliding one keeps its window
            tensors += [torch.empty_like(filled.keys), torch.empty_like(filled.values)]
            window = filled.get_max_length()
            layers.append(
                CacheLayer(
                    kv_heads=keys.shape[1],
                    key_dim=keys.shape[3],
                    value_dim=values.shape[3],
                    window=window if window > 0 else None,
                    held_before_step=filled.keys.shape[2],
                )
            )
    compute_dtype = str(tensors[0].dtype).removeprefix("torch.")
    cache = KVCache(
        layers=tuple(layers),
        batch=batch,
        context=context,
        dtype=kv_dtype or compute_dtype,
        compute_dtype=compute_dtype,
        max_positions=limit,
    )
    keyword = _keyword(forward)

    def decode_forward(input_ids: Any, *kv: Any) -> tuple[Any, ...]:
        step = DynamicCache(config=config)
        for number, (layer, filled) in enumerate(zip(step.layers, template.layers, strict=True)):
            key, value = kv[2 * number], kv[2 * number + 1]
            layer.lazy_initialization(key, value)
            layer.keys, layer.values = key, value  # the cache as it stands after N tokens
            if hasattr(filled, "cumulative_length"):
                layer.cumulative_length = filled.cumulative_length
        output = forward(input_ids=input_ids, **{keyword: step}, use_cache=True, return_dict=True)
        return (output.logits, *(t for layer in step.layers for t in (layer.keys, layer.values)))

    model.forward = decode_forward
    ids = torch.zeros((batch, 1), dtype=torch.int64, device="meta")
    first = layers[0]
    label = (
        f"input_ids [{batch}, 1] int64 + KV cache of {context} tokens "
        f"({len(layers)} layers × K,V [{batch}, {first.kv_heads}, "
        f"{first.held_before_step}, {first.key_dim}] {compute_dtype})"
    )
    notes = [
        "one decode step: one new token per sequence attends to the cache of "
        f"{context} tokens (transformers' DynamicCache, traced on meta)"
    ]
    if any(layer.window for layer in layers):
        windows = sorted({layer.window for layer in layers if layer.window})
        notes.append(
            "sliding-window layers keep their last "
            + ", ".join(str(w) for w in windows)
            + " tokens: their cache stops growing there"
        )
    moe = _moe_note(config)
    if moe:
        notes.append(moe)
    if kv_dtype and kv_dtype != compute_dtype:
        notes.append(
            f"KV cache stored as {kv_dtype}: cache bytes, reads and writes counted at its "
            f"size; the step is traced in {compute_dtype} (conversions not counted)"
        )
    return DecodeInputs((ids, *tensors), cache, label, notes)


def analyze_decode(
    loaded: Any,
    prefill: Any,
    convention: str,
    context: int,
    kv_dtype: str | None,
    device: Any,
) -> tuple[Any, Any, DecodeInputs]:
    """The decode step's Report and the serving summary beside the prefill's Report."""
    from complexity.analyzer import analyze
    from complexity.analyzer.serving import serving

    model = loaded.model
    config = getattr(model, "config", None)
    if config is None or not is_causal_lm(config):
        name = type(model).__name__
        raise TargetError(
            f"--decode analyses a causal LM (architectures ending in ForCausalLM); {name} "
            "is not one"
        )
    batch, seq_len = loaded.tokens
    step = prepare_decode(model, context, batch, kv_dtype)
    report = analyze(
        model,
        step.inputs,
        convention=convention,
        meta=True,
        cache_inputs=range(1, len(step.inputs)),
    )
    summary = serving(prefill, report, step.cache, device, (batch, seq_len), tuple(step.notes))
    return report, summary, step
