"""Parity with fvcore, run side by side on the same model and inputs.

For every model of helpers/parity_models.py, fvcore's FlopCountAnalysis / ActivationCountAnalysis / parameter_count
are the expectation: every module's flops, activations and params, the root's per-operator
breakdown, the unsupported-op census and (where the definitions agree) the uncalled modules.
Each case also names the operator labels it is meant to exercise, so a case that silently
stopped reaching a handler (both tools reporting 0) fails instead of passing vacuously.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pytest
import torch
from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis, parameter_count
from torch import nn

from complexity.analyzer import Report, analyze

from helpers.parity_models import CASES, IDS


@dataclass(frozen=True)
class Results:
    model: nn.Module
    ours: Report
    flops: FlopCountAnalysis
    acts: ActivationCountAnalysis
    params: dict[str, int]


@cache
def results(case_id: str) -> Results:
    torch.manual_seed(0)
    model, inputs = CASES[case_id].make()
    ours = analyze(model, inputs)
    flops = FlopCountAnalysis(model, inputs)
    acts = ActivationCountAnalysis(model, inputs)
    for analysis in (flops, acts):
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return Results(model, ours, flops, acts, dict(parameter_count(model)))


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case_id", IDS)
def test_flops_every_module(case_id: str) -> None:
    r = results(case_id)
    expected = dict(r.flops.by_module())
    assert expected[""] > 0
    assert r.ours.by_module("flops") == expected


@pytest.mark.parametrize("case_id", IDS)
def test_activations_every_module(case_id: str) -> None:
    r = results(case_id)
    expected = dict(r.acts.by_module())
    assert r.ours.by_module("activations") == expected


@pytest.mark.parametrize("case_id", IDS)
def test_params_every_module(case_id: str) -> None:
    r = results(case_id)
    ours = r.ours.by_module("params")
    module_names = {name for name, _ in r.model.named_modules()}
    parameter_names = {name for name, _ in r.model.named_parameters()}
    assert set(ours) == module_names
    # fvcore keys are module or parameter names; a module without parameters has no key.
    assert set(r.params) <= module_names | parameter_names
    assert ours == {name: r.params.get(name, 0) for name in module_names}
    assert ours[""] == sum(p.numel() for p in r.model.parameters())


@pytest.mark.parametrize("case_id", IDS)
def test_root_by_operator(case_id: str) -> None:
    r = results(case_id)
    expected_flops = dict(r.flops.by_operator())
    assert set(expected_flops) == CASES[case_id].ops
    assert r.ours.by_operator("flops") == expected_flops
    assert r.ours.by_operator("activations") == dict(r.acts.by_operator())


@pytest.mark.parametrize("case_id", IDS)
def test_every_module_by_operator(case_id: str) -> None:
    r = results(case_id)
    for metric, fv in (("flops", r.flops), ("activations", r.acts)):
        expected = {name: dict(counts) for name, counts in fv.by_module_and_operator().items()}
        assert r.ours.by_module_and_operator(metric) == expected, metric
        for name in expected:
            assert r.ours.by_operator(metric, name) == expected[name], (metric, name)


@pytest.mark.parametrize("case_id", IDS)
def test_unsupported_ops(case_id: str) -> None:
    r = results(case_id)
    assert r.ours.unsupported_ops == dict(r.flops.unsupported_ops())


@pytest.mark.parametrize("case_id", IDS)
def test_uncalled_modules(case_id: str) -> None:
    case, r = CASES[case_id], results(case_id)
    assert r.ours.uncalled_modules == case.expected_uncalled
    assert r.ours.uncalled_modules == r.flops.uncalled_modules()


def test_uncounted_case_is_not_trivial() -> None:
    # Hand-listed: the ops UncountedNet runs that fvcore has no handler for.
    ours = results("uncounted-ops").ours.unsupported_ops
    assert ours == {
        "aten::sigmoid": 2,  # nn.Sigmoid and torch.sigmoid
        "aten::mul": 1,  # gate * x (Square's x * x runs inside the PythonOp)
        "aten::softmax": 1,
        "prim::PythonOp.Square": 1,
        "aten::topk": 1,
        "aten::exp": 1,
    }


def test_called_identity_is_not_uncalled() -> None:
    """fvcore calls an nn.Identity that ran "uncalled" (no graph node in its scope); our
    definition is "forward never ran", so a called Identity is not in our set."""

    class WithIdentity(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.skip = nn.Identity()
            self.spare = nn.Identity()  # never called

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.skip(self.fc(x))

    model, x = WithIdentity(), torch.randn(2, 4)
    fv = FlopCountAnalysis(model, x).uncalled_modules_warnings(False)
    assert fv.uncalled_modules() == {"skip", "spare"}
    assert analyze(model, x).uncalled_modules == {"spare"}


def test_alias_totals_match_fvcore_canonical_names() -> None:
    r = results("shared-aliased-tied-uncalled")
    for alias, canonical in (("alias", "block"), ("alias.0", "block.0"), ("inner.0", "block.0")):
        assert r.flops.canonical_module_name(alias) == canonical
        assert r.ours.canonical_name(alias) == canonical
        for metric, fv in (("flops", r.flops), ("activations", r.acts)):
            assert r.ours.total(metric, alias) == fv.total(alias), (metric, alias)
