import math
from typing import Literal

import pytest
import torch
from torch import nn

from avtca.config.base import ConfigError, Strict, apply_overrides, validate
from avtca.training import EvalConfig, TrainConfig
from avtca.training.clipping import CLIPPING, ClipOff
from avtca.training.optim import BestKeeper, LRSchedule, build_optimizer
from avtca.training.optimizers import OPTIMIZERS
from avtca.training.schedules import SCHEDULES


def test_defaults_are_the_released_training_setup():
    cfg = TrainConfig()
    assert (cfg.optimizer.kind, cfg.lr, cfg.optimizer.momentum, cfg.weight_decay, cfg.batch_size) == (
        "sgd",
        0.06,
        0.9,
        1e-3,
        8,
    )
    opt = build_optimizer(nn.Linear(2, 2), cfg)
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["dampening"] == 0.9
    ev = EvalConfig()
    assert ev.modality_off == ["audio", "video"] and ev.noise_levels == [0.5, 1.0] and ev.splits == ["test"]


def test_typos_name_the_dotted_key_and_suggest():
    with pytest.raises(
        ConfigError, match=r"optimizer\.kind: 'adam' is not one of sgd, adamw \(did you mean 'adamw'\?\)"
    ):
        validate(TrainConfig, {"optimizer": {"kind": "adam"}})
    with pytest.raises(ConfigError, match=r"schedulr: unknown key.*did you mean 'scheduler'"):
        validate(TrainConfig, {"schedulr": {"kind": "cosine"}})
    with pytest.raises(ConfigError, match=r"device.*'gpu' is not one of auto, cpu, cuda, cuda:N"):
        validate(TrainConfig, {"device": "gpu"})
    with pytest.raises(ConfigError, match=r"amp: 'fp32' is not one of"):
        validate(TrainConfig, {"amp": "fp32"})
    with pytest.raises(ConfigError, match=r"modality_off\.0: 'text' is not one of audio, video"):
        validate(EvalConfig, {"modality_off": ["text"]})


def test_dotted_overrides_switch_kinds():
    raw = apply_overrides(
        TrainConfig().model_dump(), {"optimizer.kind": "adamw", "scheduler.kind": "cosine", "lr": 1e-3}
    )
    cfg = validate(TrainConfig, raw)
    assert cfg.optimizer.kind == "adamw" and cfg.scheduler.kind == "cosine" and cfg.lr == 1e-3
    assert isinstance(build_optimizer(nn.Linear(2, 2), cfg), torch.optim.AdamW)


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_fused_optimizer_is_the_same_update_in_one_kernel(kind):
    def trained(fused: bool) -> torch.Tensor:
        torch.manual_seed(0)
        model = nn.Linear(4, 3)
        cfg = validate(TrainConfig, {"lr": 0.05, "optimizer": {"kind": kind, "fused": fused}})
        opt = build_optimizer(model, cfg)
        assert bool(opt.defaults["fused"]) is fused
        x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
        for _ in range(5):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return model.weight.detach().clone()

    plain, fused = trained(False), trained(True)
    assert not torch.equal(plain, nn.Linear(4, 3).weight)  # it did train
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-6)


def _lrs(cfg: TrainConfig, values=None) -> list[float]:
    opt = build_optimizer(nn.Linear(2, 2), cfg)
    sched = LRSchedule(opt, cfg, higher_is_better=True)
    out = []
    for e in range(cfg.epochs):
        out.append(sched.start_epoch(e))
        sched.end_epoch(e, values[e] if values else 0.0)
    return out


def test_step_schedule_matches_released_lr_steps():
    cfg = validate(TrainConfig, {"epochs": 8, "lr": 1.0, "scheduler": {"kind": "step", "milestones": [3, 6]}})
    # released: lr * 0.1 ** sum(epoch_1based >= lr_steps)
    assert _lrs(cfg) == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01])


def test_cosine_with_warmup():
    cfg = validate(TrainConfig, {"epochs": 6, "lr": 1.0, "warmup_epochs": 2, "scheduler": {"kind": "cosine"}})
    lrs = _lrs(cfg)
    assert lrs[:2] == pytest.approx([1 / 3, 2 / 3])
    assert lrs[2] == pytest.approx(1.0)
    assert lrs[3] == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert all(a > b for a, b in zip(lrs[2:], lrs[3:]))


def test_plateau_reduces_after_patience():
    cfg = validate(
        TrainConfig, {"epochs": 6, "lr": 1.0, "scheduler": {"kind": "plateau", "patience": 1, "factor": 0.5}}
    )
    lrs = _lrs(cfg, values=[0.5, 0.4, 0.4, 0.6, 0.6, 0.6])
    # best 0.5 at epoch 0; epochs 1, 2 do not improve -> stale 2 > patience 1 -> halve from epoch 3
    assert lrs == pytest.approx([1, 1, 1, 0.5, 0.5, 0.5])


def test_best_keeper_stops_at_patience_and_keeps_the_best_weights():
    cfg = validate(TrainConfig, {"early_stopping": {"kind": "patience", "patience": 2}})
    model = nn.Linear(1, 1, bias=False)
    keeper = BestKeeper(cfg, higher_is_better=True)
    stops = []
    for epoch, value in enumerate([0.2, 0.7, 0.6, 0.7, 0.9], start=1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        stops.append(keeper.update(epoch, value, model))
    # a tie (0.7 at epoch 4) is no improvement: stale reaches 2 at epoch 4
    assert stops == [False, False, False, True, False]
    assert keeper.best_epoch == 5  # updates after a stop signal are still tracked correctly
    keeper = BestKeeper(cfg, higher_is_better=False)
    for epoch, value in enumerate([3.0, 1.0, float("nan"), 2.0], start=1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        keeper.update(epoch, value, model)
    keeper.restore(model)
    assert keeper.best_epoch == 2 and model.weight.item() == 2.0


def test_clipping_kinds_clip_as_torch_does():
    assert CLIPPING.names() == ["off", "norm", "value"] and CLIPPING.build(ClipOff()) is None
    grads = [torch.tensor([3.0, -4.0]), torch.tensor([12.0])]  # global L2 norm 13
    params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    CLIPPING.build(validate(TrainConfig, {"clip": {"kind": "norm", "max_norm": 1.3}}).clip)(params)
    assert torch.linalg.vector_norm(torch.cat([p.grad for p in params])).item() == pytest.approx(1.3, rel=1e-5)
    CLIPPING.build(validate(TrainConfig, {"clip": {"kind": "value", "value": 0.1}}).clip)(params)
    assert all(torch.equal(p.grad.abs(), torch.full_like(p.grad, 0.1)) for p in params)  # 0.3, 0.4, 1.2 clamped


class ScheduleLinear(Strict):
    """Linear decay to end_ratio (a schedule registered outside avtca, as a user's module would)."""

    kind: Literal["linear"] = "linear"
    end_ratio: float = 0.0


class Adagrad(Strict):
    """Adagrad (an optimizer registered outside avtca)."""

    kind: Literal["adagrad"] = "adagrad"
    lr_decay: float = 0.0


@pytest.fixture
def user_kinds():
    @SCHEDULES.register(ScheduleLinear)
    def _linear(cfg, *, epochs, warmup_epochs, higher_is_better):
        class Linear:
            min_lr = None

            def factor(self, epoch):
                return 1 + (cfg.end_ratio - 1) * (epoch - warmup_epochs) / max(epochs - warmup_epochs - 1, 1)

            def observe(self, epoch, value):
                pass

        return Linear()

    @OPTIMIZERS.register(Adagrad)
    def _adagrad(cfg, *, params, lr, weight_decay):
        return torch.optim.Adagrad(params, lr=lr, lr_decay=cfg.lr_decay, weight_decay=weight_decay)

    yield
    SCHEDULES.unregister("linear")
    OPTIMIZERS.unregister("adagrad")


def test_a_schedule_and_an_optimizer_registered_later_are_valid_and_used(user_kinds):
    raw = {"epochs": 5, "lr": 1.0, "scheduler": {"kind": "linear"}, "optimizer": {"kind": "adagrad", "lr_decay": 0.1}}
    cfg = validate(TrainConfig, raw)
    assert cfg.scheduler == ScheduleLinear() and cfg.optimizer == Adagrad(lr_decay=0.1)
    assert isinstance(build_optimizer(nn.Linear(2, 2), cfg), torch.optim.Adagrad)
    assert _lrs(cfg) == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    with pytest.raises(
        ConfigError, match=r"scheduler\.kind: 'linaer' is not one of .*linear \(did you mean 'linear'\?\)"
    ):
        validate(TrainConfig, {"scheduler": {"kind": "linaer"}})
