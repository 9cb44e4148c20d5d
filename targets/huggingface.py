"""A Hugging Face `config.json` as a target: the model built on meta, token ids as input.

Built with transformers' Auto classes from the config alone: no weights, no hub access,
on the build device `TargetSpec.device` (the CLI's default is meta: shapes only, so a 70B
model costs no memory). Needs the optional extra `hf` (`pip install -e ".[hf]"`).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any

from .inputs import make_tensor, refuse
from .spec import (
    DEFAULT_SEQ_LEN,
    ActiveParams,
    InputRequest,
    Loaded,
    TargetError,
    TargetSpec,
    first_line,
)

CAUSAL_SUFFIX = "ForCausalLM"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise TargetError(f"cannot parse {path} as JSON: {first_line(error)}") from None
    except RecursionError:  # json's parser recurses once per level
        raise TargetError(f"{path} nests too deeply to be a config.json; check the file") from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise TargetError(
            f"{path} has no `model_type`; a .json target must be a Hugging Face config.json"
        )
    model_type = data["model_type"]
    if not isinstance(model_type, str) or not model_type.strip():
        raise TargetError(
            f"`model_type` in {path} is {_shown(model_type)}; it must name the architecture "
            'as a string, e.g. "llama" or "gpt2"'
        )
    if "auto_map" in data:
        raise TargetError(
            f"{path} needs the model's own Python code (`auto_map`), which complexity does "
            "not download or run; analyse a .py file that builds the model instead"
        )
    return data


def _shown(value: Any, limit: int = 60) -> str:
    """A value for a message: its repr, cut in the middle when long (a 100 KB argument)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2 :]}"


def _whole(error: BaseException, limit: int = 300) -> str:
    """An error's whole message on one line: transformers' validation errors put the
    reason on the lines after a first line that ends in ':'."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    text = text or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _config(path: Path, data: dict[str, Any], overrides: dict[str, Any]) -> Any:
    from transformers import AutoConfig

    model_type = data.pop("model_type")
    try:
        defaults = AutoConfig.for_model(model_type)
    except ValueError:
        import transformers

        raise TargetError(
            f"transformers {transformers.__version__} does not know model_type "
            f"{model_type!r} of {path}; upgrade transformers"
        ) from None
    for key in overrides:
        # A field, not a method or class attribute (`to_dict`, `model_type`'s helpers).
        is_field = not key.startswith("_") and not callable(getattr(defaults, key, None))
        if key not in data and not (hasattr(defaults, key) and is_field):
            raise TargetError(
                f"--model-arg {_shown(key)}: a {model_type} config has no field "
                f"{_shown(key)}; see the fields in {path}"
            )
    _check_sizes(path, {**data, **overrides}, overrides)  # before transformers warns on them
    try:
        config = AutoConfig.for_model(model_type, **{**data, **overrides})
    except Exception as error:
        raise TargetError(f"cannot read {path} as a {model_type} config: {_whole(error)}") from None
    config.use_cache = False  # one forward over the whole sequence, no KV cache
    return config


# Sizes a config.json gives that transformers takes as they are: a layer count of -1 builds
# no layers (and the flops of what is left), a vocab_size of 0 an empty embedding, a
# max_position_embeddings of 0 disables the --seq-len bound. Each must be a positive int.
SIZE_FIELDS = (
    "num_hidden_layers num_attention_heads num_key_value_heads hidden_size intermediate_size "
    "vocab_size max_position_embeddings head_dim n_layer n_head n_embd n_positions n_ctx "
    "n_inner d_model d_ff d_kv num_layers num_heads encoder_layers decoder_layers "
    "encoder_attention_heads decoder_attention_heads encoder_ffn_dim decoder_ffn_dim "
    "num_local_experts num_experts num_experts_per_tok moe_intermediate_size"
).split()


# Fields some model types give per stage, as a list of sizes.
PER_STAGE_FIELDS = frozenset({"num_heads"})


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_sizes(path: Path, fields: dict[str, Any], overrides: dict[str, Any]) -> None:
    for field in SIZE_FIELDS:
        value = fields.get(field)
        if value is None or _positive_int(value):
            continue
        if (  # one per stage: Swin's num_heads = [3, 6, 12, 24]
            field in PER_STAGE_FIELDS
            and isinstance(value, list)
            and value
            and all(_positive_int(item) for item in value)
        ):
            continue
        given = (
            f"--model-arg {field}={overrides[field]!r}"
            if field in overrides
            else f"{field} = {value!r} in {path}"
        )
        raise TargetError(
            f"{given}: {field} must be a positive integer (a count or a size); fix it in "
            f"{path.name} or give --model-arg {field}=N"
        )


def is_causal_lm(config: Any) -> bool:
    """`architectures` names a causal LM: *ForCausalLM, or the class AutoModelForCausalLM
    maps this model_type to (GPT-2's GPT2LMHeadModel)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    causal_class = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(config.model_type)
    return any(
        name.endswith(CAUSAL_SUFFIX) or name == causal_class
        for name in (config.architectures or [])
    )


def _tokens_forward(model: Any, names: list[str], resized: bool = False) -> None:
    """Let model(*tensors) call HF's forward with keywords, without a cache, returning tuples.

    Set on the instance (not a wrapper module), so the table keeps HF's module names.
    """
    forward = model.forward
    parameters = inspect.signature(forward).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    options = {key: False for key in ("use_cache", "return_dict") if key in parameters or takes_any}
    if resized and "interpolate_pos_encoding" in parameters:  # --shape: ViTs resample theirs
        options["interpolate_pos_encoding"] = True

    def tokens_forward(*tensors: Any) -> Any:
        return forward(**dict(zip(names, tensors, strict=True)), **options)

    model.forward = tokens_forward


def _check_fits(auto: Any, config: Any, device: str) -> None:
    """Refuse to allocate real weights that would not fit in this machine's free memory."""
    import os

    import torch

    if device != "cpu":
        return
    with torch.device("meta"):
        shapes = auto.from_config(config)
    # Initialisation may run in float32 whatever the config's dtype; keep half the free
    # memory for the forward's activations and everything else.
    weights = sum(p.numel() * max(p.element_size(), 4) for p in shapes.parameters())
    free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    if weights > free / 2:
        raise TargetError(
            f"building {type(shapes).__name__} on cpu needs about {weights / 2**30:.0f} GiB for "
            f"its weights and this machine has {free / 2**30:.0f} GiB free; analyse it on meta "
            "(--device auto or meta), which needs no weights"
        )


TOKEN_INPUTS = ("input_ids", "attention_mask", "decoder_input_ids", "token_type_ids")
EXPERT_COUNT_FIELDS = ("num_local_experts", "num_experts", "n_routed_experts")


def active_parameters(model: Any, config: Any) -> ActiveParams:
    """Parameters a token runs through: every parameter, less (E - k) / E of the routed
    experts' for a mixture of experts (E experts, top-k per token; shared experts, router,
    attention and embeddings stay whole). Routed experts are the modules named `experts`."""
    unique = {id(p): p.numel() for p in model.parameters()}
    total = sum(unique.values())
    experts = next(
        (getattr(config, name) for name in EXPERT_COUNT_FIELDS if getattr(config, name, None)),
        0,
    )
    top_k = getattr(config, "num_experts_per_tok", 0) or 0
    if not experts or not top_k:
        return ActiveParams(total, total)
    routed = {
        id(p): p.numel()
        for name, module in model.named_modules()
        if name.rsplit(".", 1)[-1] == "experts"
        for p in module.parameters()
    }
    idle = sum(routed.values()) * (experts - top_k) // experts
    return ActiveParams(total - idle, total, experts, top_k)


def _text_config(config: Any) -> Any:
    return getattr(config, "text_config", None) or config


def _vision_config(config: Any) -> Any:
    return getattr(config, "vision_config", None) or config


def _image_size(config: Any, path: Path, shape: tuple[int, int] | None) -> tuple[int, int]:
    if shape is not None:
        return shape
    size = getattr(_vision_config(config), "image_size", None)
    if isinstance(size, int):
        return (size, size)
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return (int(size[0]), int(size[1]))
    raise TargetError(
        f"{path} gives no `image_size` for its pixel_values; give one with --shape H W"
    )


def _sequence_length(config: Any, request: InputRequest, limit_field: str) -> int:
    limit = getattr(_text_config(config), limit_field, None)
    seq_len = request.seq_len or (min(DEFAULT_SEQ_LEN, limit) if limit else DEFAULT_SEQ_LEN)
    if limit and seq_len > limit:
        raise TargetError(
            f"--seq-len {seq_len} is longer than the {limit} positions this {config.model_type} "
            f"model has; give --seq-len {limit} or less, or lengthen the model with "
            f"--model-arg {limit_field}={seq_len}"
        )
    return seq_len


def _model_inputs(
    model: Any, config: Any, path: Path, request: InputRequest, shape: tuple[int, int] | None
) -> tuple[dict[str, tuple[tuple[int, ...], str]], int | None]:
    """Input name -> (shape, dtype) that the model's forward takes, from the config, and
    the token count when it reads token ids: token ids (and their all-ones mask), images
    (`pixel_values` from `image_size` and `num_channels`), log-mel features (Whisper:
    `num_mel_bins` x twice the encoder's positions), decoder token ids for encoder-decoders."""
    parameters = inspect.signature(model.forward).parameters
    token_specs = [s for s in request.inputs if s.name in TOKEN_INPUTS and len(s.shape) == 2]
    if token_specs and request.seq_len is None:  # `--input attention_mask=1x128` sets T
        first = token_specs[0].shape
        request = dataclasses.replace(request, seq_len=first[1], batch=request.batch or first[0])
    batch = request.batch or 1
    feeds: dict[str, tuple[tuple[int, ...], str]] = {}
    seq_len = None
    if "input_features" in parameters:  # speech encoder-decoders (Whisper)
        frames = 2 * config.max_source_positions
        feeds["input_features"] = ((batch, config.num_mel_bins, frames), "float32")
    elif "input_ids" in parameters:
        seq_len = _sequence_length(config, request, "max_position_embeddings")
        feeds["input_ids"] = ((batch, seq_len), "int64")
        if "attention_mask" in parameters:  # as a tokenizer returns it: every position real
            feeds["attention_mask"] = ((batch, seq_len), "int64")
    if "pixel_values" in parameters:
        channels = getattr(_vision_config(config), "num_channels", 3)
        feeds["pixel_values"] = ((batch, channels, *_image_size(config, path, shape)), "float32")
    elif shape is not None:
        raise TargetError(
            f"--shape sets an image size, but {path} is a token model; use --seq-len N "
            "(and --batch N)"
        )
    if getattr(config, "is_encoder_decoder", False) and "decoder_input_ids" in parameters:
        if seq_len is None:  # the decoder's own tokens (Whisper: up to max_target_positions)
            seq_len = _sequence_length(config, request, "max_target_positions")
        feeds["decoder_input_ids"] = ((batch, seq_len), "int64")
    if not feeds:
        raise TargetError(
            f"{type(model).__name__} from {path} takes none of input_ids, pixel_values, "
            "input_features; give its inputs with --input NAME=SHAPE[:DTYPE]"
        )
    if request.seq_len is not None and seq_len is None:
        raise TargetError(
            f"--seq-len does not apply here: {path} is an image model; use --shape H W"
        )
    for spec in request.inputs:  # --input NAME=SHAPE[:DTYPE] adds or replaces one
        if spec.name not in parameters:
            raise TargetError(
                f"--input {spec.name}=...: {type(model).__name__}'s forward has no argument "
                f"{spec.name!r}; it takes {', '.join(feeds)}"
            )
        feeds[str(spec.name)] = (spec.shape, spec.dtype)
    tokens = seq_len if "input_ids" in feeds and "pixel_values" not in feeds else None
    return feeds, tokens


def position_limit(path: Path, model_args: dict[str, Any]) -> tuple[int | None, str]:
    """How many positions the config.json's model takes (None when it says nothing), and
    its model_type. Builds the config only, not the model: sweep checks every --seq-lens
    point with it before the first is built."""
    try:
        import transformers  # noqa: F401
    except ImportError:
        raise TargetError(
            f"{path} is a Hugging Face config; reading it needs transformers: "
            'pip install -e ".[hf]"'
        ) from None
    config = _config(path, _read(path), dict(model_args))
    limit = getattr(_text_config(config), "max_position_embeddings", None)
    return limit, config.model_type


def seq_len_error(option: str, seq_len: int, limit: int, model_type: str) -> TargetError:
    return TargetError(
        f"{option} {seq_len} is longer than the {limit} positions this {model_type} "
        f"model has; give {option} {limit} or less, or lengthen the model with "
        f"--model-arg max_position_embeddings={seq_len}"
    )


def load_config_json(
    path: Path, request: InputRequest, device: str, shape: tuple[int, int] | None = None
) -> Loaded:
    try:
        import transformers
        from transformers import AutoModel, AutoModelForCausalLM
    except ImportError:
        raise TargetError(
            f"{path} is a Hugging Face config; reading it needs transformers: "
            'pip install -e ".[hf]"'
        ) from None
    import torch

    config = _config(path, _read(path), dict(request.model_args))
    auto = AutoModelForCausalLM if is_causal_lm(config) else AutoModel
    if device != "meta":
        _check_fits(auto, config, device)
    try:
        with torch.device(device):
            model = auto.from_config(config)
    except Exception as error:
        raise TargetError(
            f"transformers could not build {config.model_type} from {path}: {first_line(error)}"
        ) from None
    model.eval()

    feeds, seq_len = _model_inputs(model, config, path, request, shape)
    tensors = tuple(
        torch.ones(size, dtype=torch.int64, device=device)
        if name == "attention_mask"
        else make_tensor(size, dtype, device=device)
        for name, (size, dtype) in feeds.items()
    )
    _tokens_forward(model, list(feeds), resized=shape is not None)
    label = ", ".join(
        f"{name} [{', '.join(map(str, size))}] {dtype}" for name, (size, dtype) in feeds.items()
    )
    note = (
        f"{type(model).__name__} built by transformers {transformers.__version__} "
        f"{auto.__name__}.from_config({path}) on the {device} device: "
        + ("no weights, shapes only" if device == "meta" else "randomly initialised weights")
    )
    batch = next(iter(feeds.values()))[0][0]
    return Loaded(
        model,
        tensors,
        label,
        [note],
        tokens=(batch, seq_len) if seq_len is not None else None,
        default_seq_len=request.seq_len is None
        and not any(spec.name in TOKEN_INPUTS for spec in request.inputs),
        active_params=active_parameters(model, config),
    )


def from_hf_config(path: Path, spec: TargetSpec) -> Loaded:
    if spec.training_form:
        raise TargetError(
            f"--training-form applies to MMYOLO-style configs; {path} is a Hugging Face "
            "config, counted as transformers builds it: drop --training-form"
        )
    if any(tensor.name is None for tensor in spec.request.inputs):
        raise TargetError(
            f"--input gives {path}'s inputs by name: --input NAME=SHAPE[:DTYPE], e.g. "
            "--input attention_mask=1x128:int64"
        )
    refuse(
        spec.request,
        f"{path} is a Hugging Face config: use --seq-len, --shape and --batch",
        ("--seq-len", "--batch", "--model-arg", "--input"),
    )
    return load_config_json(path, spec.request, spec.device, spec.shape)
