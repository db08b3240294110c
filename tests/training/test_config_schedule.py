import math

import pytest
import torch
from torch import nn

from avtca.config.base import ConfigError, apply_overrides, validate
from avtca.training import EvalConfig, TrainConfig
from avtca.training.optim import BestKeeper, LRSchedule, build_optimizer


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
