"""What `analyze` promises besides the numbers: the model is left as it was, a failing forward
is reported where it failed, uncounted operators are named, shared weights counted once, and
the report's accessors reject what they do not know."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import torch
from torch import nn

from complexity.analyzer import AnalysisError, Report, analyze

from helpers import Double

# --------------------------------------------------------------------------- helpers


class Boom(nn.Module):
    """Raises on its input once `armed`; otherwise a linear layer."""

    def __init__(self, armed: bool) -> None:
        super().__init__()
        self.armed = armed
        self.fc = nn.Linear(6, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.armed:
            raise RuntimeError("boom: bad input")
        return self.fc(x)


class Stateful(nn.Module):
    """BatchNorm in train mode runs (and updates its running stats) before `body.1.inner`."""

    def __init__(self, armed: bool = False) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5))
        self.body = nn.Sequential(nn.ReLU(), nn.Sequential())
        self.body[1].add_module("inner", Boom(armed))
        self.head = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


def noop_pre_hook(module: nn.Module, args: Any) -> None:
    return None


def noop_hook(module: nn.Module, args: Any, output: Any) -> None:
    return None


def noop_kwargs_hook(module: nn.Module, args: Any, kwargs: Any, output: Any) -> None:
    return None


def prepared(armed: bool) -> nn.Module:
    """A model in mixed train/eval mode with user hooks of every kind already registered."""
    torch.manual_seed(0)
    model = Stateful(armed).train()
    model.head.eval()  # a mixed pattern of training flags
    model.stem[0].register_forward_pre_hook(noop_pre_hook)
    model.stem[1].register_forward_hook(noop_hook)
    model.head.register_forward_hook(noop_kwargs_hook, with_kwargs=True)
    model.register_forward_hook(noop_hook, always_call=True)
    model.register_forward_pre_hook(noop_pre_hook, prepend=True)
    return model


HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_pre_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_backward_hooks",
    "_backward_pre_hooks",
)


def snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()},
        "requires_grad": {k: p.requires_grad for k, p in model.named_parameters()},
        "grads": {k: p.grad for k, p in model.named_parameters()},
        "training": {name: m.training for name, m in model.named_modules()},
        "hooks": {
            name: {attr: list(getattr(m, attr).items()) for attr in HOOK_DICTS}
            for name, m in model.named_modules()
        },
        "grad_enabled": torch.is_grad_enabled(),
    }


def assert_same(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before["state"].keys() == after["state"].keys()
    for key, value in before["state"].items():
        assert torch.equal(value, after["state"][key]), key
    for field in ("requires_grad", "grads", "training", "hooks", "grad_enabled"):
        assert before[field] == after[field], field


X = torch.randn(8, 4)


# --------------------------------------------------------------------------- model unchanged


def test_plain_forward_would_change_the_state() -> None:
    """Precondition of the next tests: this model's forward does change its buffers."""
    model = prepared(armed=False)
    before = snapshot(model)
    model(X)
    bn = model.stem[1]
    assert not torch.equal(bn.running_mean, before["state"]["stem.1.running_mean"])
    assert not torch.equal(bn.running_var, before["state"]["stem.1.running_var"])
    assert int(bn.num_batches_tracked) == int(before["state"]["stem.1.num_batches_tracked"]) + 1


def test_model_unchanged_when_forward_succeeds() -> None:
    model = prepared(armed=False)
    before = snapshot(model)
    report = analyze(model, X)
    assert report.total("flops") > 0
    assert_same(before, snapshot(model))


def test_model_unchanged_when_forward_raises() -> None:
    model = prepared(armed=True)
    before = snapshot(model)
    with pytest.raises(AnalysisError):
        analyze(model, X)
    assert_same(before, snapshot(model))


def test_model_still_analysable_after_a_failure() -> None:
    model = prepared(armed=True)
    with pytest.raises(AnalysisError):
        analyze(model, X)
    model.body[1].inner.armed = False
    report = analyze(model, X)
    # linears 4->6, 6->6, 6->3 on 8 rows; BatchNorm1d in train mode: 5 per element
    assert report.by_operator("flops") == {
        "linear": 8 * 4 * 6 + 8 * 6 * 6 + 8 * 6 * 3,
        "batch_norm": 8 * 6 * 5,
    }


def test_own_hooks_run_and_leave_nothing_behind() -> None:
    calls: list[str] = []
    model = nn.Sequential(nn.Linear(3, 3))
    model[0].register_forward_hook(lambda m, i, o: calls.append("user"))
    analyze(model, torch.randn(2, 3))
    assert calls == ["user"]  # the user's hook ran once, during the one trace
    assert len(model[0]._forward_hooks) == 1
    assert len(model[0]._forward_pre_hooks) == 0


# --------------------------------------------------------------------------- errors


def test_error_in_nested_submodule_names_it() -> None:
    model = Stateful(armed=True).eval()
    with pytest.raises(AnalysisError) as caught:
        analyze(model, X)
    error = caught.value
    assert error.module == "body.1.inner"
    assert error.input_shapes == [[8, 6]]  # Linear(4, 6) output, through BN and ReLU
    message = str(error)
    assert "body.1.inner" in message
    assert "[[8, 6]]" in message
    assert "boom: bad input" in message
    assert isinstance(error.__cause__, RuntimeError)


def test_error_in_the_root_forward() -> None:
    class Bad(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x) @ x  # (2, 5) @ (2, 4): shapes do not match

    with pytest.raises(AnalysisError) as caught:
        analyze(Bad(), torch.randn(2, 4))
    assert caught.value.module == ""
    assert caught.value.input_shapes == [[2, 4]]
    assert "[[2, 4]]" in str(caught.value)


def test_error_in_a_module_called_with_several_inputs() -> None:
    class Pair(nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.cat([a, b], 0) @ a  # (5, 3) @ (2, 3): fails

    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pair = Pair()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pair(x, x.repeat(2, 1)[:3])

    with pytest.raises(AnalysisError) as caught:
        analyze(Outer(), torch.randn(2, 3))
    assert caught.value.module == "pair"
    assert caught.value.input_shapes == [[2, 3], [3, 3]]


# --------------------------------------------------------------------------- uncounted ops


class Head(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.sigmoid(self.fc(x))
        values, _ = torch.topk(y, 2)
        return torch.sigmoid(values)


class WithUncounted(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gate = nn.Linear(6, 6)
        self.head = Head()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * torch.sigmoid(self.gate(x))  # aten::mul and aten::sigmoid at the root
        return self.head(Double.apply(y))


def test_uncounted_ops_are_named_with_counts_and_modules() -> None:
    report = analyze(WithUncounted(), torch.randn(3, 6))
    by_op = {entry.op: entry for entry in report.uncounted}
    assert set(by_op) == {"aten::sigmoid", "aten::mul", "aten::topk", "prim::PythonOp.Double"}
    assert by_op["aten::sigmoid"].count == 3
    assert dict(by_op["aten::sigmoid"].modules) == {"": 1, "head": 2}
    assert by_op["aten::mul"].count == 1
    assert dict(by_op["aten::mul"].modules) == {"": 1}
    assert by_op["aten::topk"].count == 1
    assert dict(by_op["aten::topk"].modules) == {"head": 1}
    assert by_op["prim::PythonOp.Double"].count == 1
    assert dict(by_op["prim::PythonOp.Double"].modules) == {"": 1}
    # sigmoid, mul and topk have rules under the `flops` convention, Double under none
    assert {entry.op: entry.reason for entry in report.uncounted} == {
        "aten::sigmoid": "not counted by this convention",
        "aten::mul": "not counted by this convention",
        "aten::topk": "not counted by this convention",
        "prim::PythonOp.Double": "no handler",
    }
    assert report.unsupported_ops == {
        "aten::sigmoid": 3,
        "aten::mul": 1,
        "aten::topk": 1,
        "prim::PythonOp.Double": 1,
    }
    # the counted part is unaffected: only the two linears
    assert report.by_module("flops") == {
        "": 3 * 6 * 6 + 3 * 6 * 4,
        "gate": 3 * 6 * 6,
        "head": 3 * 6 * 4,
        "head.fc": 3 * 6 * 4,
    }


def test_no_uncounted_ops_means_empty() -> None:
    report = analyze(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), torch.randn(1, 3))
    assert report.uncounted == ()
    assert report.unsupported_ops == {}
    assert report.ignored_ops == {"aten::relu": 1}


# --------------------------------------------------------------------------- parameters


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(6, 4)
        self.second = nn.Linear(6, 4)
        self.second.weight = self.first.weight  # tied
        self.plain = nn.Linear(4, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.plain(self.first(x) + self.second(x))


def test_shared_parameters_counted_once_under_the_first() -> None:
    report = analyze(Tied(), torch.randn(2, 6))
    assert report.by_module("params") == {
        "": 6 * 4 + 4 + 4 + 4 * 2,  # the tied weight once, two biases, plain
        "first": 6 * 4 + 4,
        "second": 4,  # its bias only
        "plain": 4 * 2,
    }
    assert "first.weight" in report.parameter_shapes
    assert "second.weight" not in report.parameter_shapes
    # flops are per call, not per parameter: both linears ran
    assert report.total("flops") == 2 * 6 * 4 * 2 + 2 * 4 * 2


# --------------------------------------------------------------------------- report API


class Aliased(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
        self.again = self.block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.again(x)  # called through the alias only


@pytest.fixture(scope="module")
def aliased_report() -> Report:
    return analyze(Aliased(), torch.randn(1, 2, 6, 6))


@pytest.mark.parametrize("metric", ["flops", "activations", "params"])
@pytest.mark.parametrize(("alias", "canonical"), [("again", "block"), ("again.0", "block.0")])
def test_total_by_alias_equals_canonical(
    aliased_report: Report, metric: str, alias: str, canonical: str
) -> None:
    assert aliased_report.canonical_name(alias) == canonical
    assert aliased_report.total(metric, alias) == aliased_report.total(metric, canonical)


def test_alias_values_by_hand(aliased_report: Report) -> None:
    conv_flops = 3 * 2 * 3 * 3 * 4 * 4  # out (1, 3, 4, 4)
    assert aliased_report.total("flops", "again") == conv_flops
    assert aliased_report.total("params", "again.0") == 3 * 2 * 3 * 3 + 3
    assert aliased_report.by_operator("flops", "again") == {"conv": conv_flops}
    assert "again" not in aliased_report.by_module("flops")  # keys are canonical names
    assert aliased_report.uncalled_modules == frozenset()


def test_unknown_module_name_raises_keyerror(aliased_report: Report) -> None:
    with pytest.raises(KeyError, match="nope"):
        aliased_report.total("flops", "nope")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda r: r.total("macs"), id="total"),
        pytest.param(lambda r: r.by_module("macs"), id="by_module"),
        pytest.param(lambda r: r.by_operator("macs"), id="by_operator"),
        pytest.param(lambda r: r.by_module_and_operator("macs"), id="by_module_and_operator"),
        pytest.param(lambda r: r.by_operator("params"), id="by_operator-params"),
        pytest.param(lambda r: r.by_module_and_operator("params"), id="by_mod_and_op-params"),
    ],
)
def test_unknown_metric_raises_valueerror(aliased_report: Report, call: Any) -> None:
    with pytest.raises(ValueError):
        call(aliased_report)


def test_unknown_convention_raises_valueerror() -> None:
    with pytest.raises(ValueError, match="fvcore"):
        analyze(nn.Linear(2, 2), torch.randn(1, 2), convention="nope")


def test_to_dict_round_trips_through_json() -> None:
    model = WithUncounted()
    report = analyze(model, (torch.randn(3, 6),))
    data = report.to_dict(version="1.2.3")
    assert json.loads(json.dumps(data)) == data
    params = 6 * 6 + 6 + 6 * 4 + 4
    assert {key: data["totals"][key] for key in ("flops", "activations", "params")} == {
        "flops": 3 * 6 * 6 + 3 * 6 * 4,
        "activations": 3 * 6 + 3 * 4,
        "params": params,
    }
    assert data["totals"]["param_bytes"] == 4 * params  # fp32
    assert [m["name"] for m in data["modules"]] == ["", "gate", "head", "head.fc"]
    assert data["input_shapes"] == [[3, 6]]
    assert {e["op"]: e["count"] for e in data["uncounted_ops"]} == report.unsupported_ops


def test_inputs_are_not_modified_and_structures_are_accepted() -> None:
    class Multi(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x: torch.Tensor, extra: dict[str, Any]) -> list[torch.Tensor]:
            return [self.fc(x), self.fc(extra["pair"][1])]

    x = torch.randn(4, 3)
    extra = {"pair": [torch.randn(1, 3), torch.randn(5, 3)]}
    kept = copy.deepcopy((x, extra))
    report = analyze(Multi(), (x, extra))
    assert report.input_shapes == [[4, 3], {"pair": [[1, 3], [5, 3]]}]
    assert report.total("flops") == 4 * 3 * 2 + 5 * 3 * 2
    assert torch.equal(x, kept[0])
    assert torch.equal(extra["pair"][1], kept[1]["pair"][1])
