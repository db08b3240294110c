import io

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from avtca.config.base import validate
from avtca.training import SILENT, EpochBar, NonFiniteLoss, Pruned, TrainConfig, evaluate, fit, runtime
from avtca.training.runtime import resolve_precision, seed_everything
from tests.training.toys import N_CLASSES, ToyAV, ToyModel, loaders, unpack


def _cfg(**kw) -> TrainConfig:
    base = {"epochs": 4, "lr": 0.05, "optimizer": {"kind": "adamw"}, "scheduler": {"kind": "none"}, "device": "cpu"}
    return validate(TrainConfig, {**base, **kw})


def _run(seed: int, **kw):
    seed_everything(seed)
    model = ToyModel()
    result = fit(model, loaders(seed=seed), _cfg(**kw), "classification", unpack=unpack, progress=SILENT)
    return model, result


def test_fit_learns_and_reports_every_epoch():
    seen = []
    seed_everything(0)
    model = ToyModel()
    cfg = _cfg(epochs=6)
    result = fit(
        model,
        loaders(),
        cfg,
        "classification",
        unpack=unpack,
        progress=SILENT,
        report=lambda epoch, m: seen.append((epoch, dict(m))),
    )
    assert [e for e, _ in seen] == [1, 2, 3, 4, 5, 6]
    assert {"train/loss", "train/lr", "val/loss", "val/accuracy", "val/uar", "val/f1_macro", "val/f1_weighted"} <= set(
        seen[0][1]
    )
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5, 6]
    assert result.history[-1]["train/loss"] < result.history[0]["train/loss"]
    test = evaluate(model, loaders()["test"], "classification", unpack=unpack, prefix="test/")
    assert test.metrics["test/accuracy"] > 0.6  # chance is 0.25
    assert result.best_epoch == max(result.history, key=lambda h: h["val/accuracy"])["epoch"]


def test_same_seed_same_run_different_seed_differs():
    _, a = _run(3)
    _, b = _run(3)
    _, c = _run(4)
    strip = lambda hist: [{k: v for k, v in h.items() if k != "train/seconds"} for h in hist]  # noqa: E731
    assert strip(a.history) == strip(b.history)
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    assert [h["train/loss"] for h in a.history] != [h["train/loss"] for h in c.history]


class _NaNAfter(ToyModel):
    """Returns NaN logits from the n-th training forward call on (0-based)."""

    def __init__(self, n: int):
        super().__init__()
        self.n, self.calls = n, 0

    def forward(self, audio, video):
        out = super().forward(audio, video)
        if self.training:
            self.calls += 1
            if self.calls > self.n:
                return out * float("nan")
        return out


def test_nan_loss_raises_with_epoch_and_step():
    # 64 samples / batch 16 = 4 steps per epoch; NaN from call 6 on = epoch 2, step 1
    with pytest.raises(NonFiniteLoss, match="epoch 2, step 1") as info:
        fit(_NaNAfter(5), loaders(), _cfg(), "classification", unpack=unpack, progress=SILENT)
    assert (info.value.epoch, info.value.step) == (2, 1)
    # the NaN loss back-propagated into the weights before the check: the error says which ones
    assert "head.weight" in info.value.bad_params and "already non-finite" in str(info.value)


def test_pruned_from_report_stops_training_and_carries_history():
    epochs_seen = []

    def report(epoch, metrics):
        epochs_seen.append(epoch)
        if epoch == 2:
            raise Pruned("median pruner")

    with pytest.raises(Pruned) as info:
        fit(ToyModel(), loaders(), _cfg(epochs=5), "classification", unpack=unpack, progress=SILENT, report=report)
    assert epochs_seen == [1, 2]
    assert info.value.epoch == 2 and [h["epoch"] for h in info.value.history] == [1, 2]


class _Scripted(nn.Module):
    """Validation accuracy follows a script per epoch; a real weight is trained so the best state is checkable.

    Audio channel 0 carries the label and channel 1 the sample's rank in [0, 1): a sample is classified
    correctly in validation epoch k iff its rank < script[k].
    """

    def __init__(self, script):
        super().__init__()
        self.script, self.epoch = script, -1
        self.w = nn.Parameter(torch.zeros(N_CLASSES))

    def train(self, mode: bool = True):
        if self.training and not mode:
            self.epoch += 1  # switching to eval = the validation pass after a training epoch
        return super().train(mode)

    def forward(self, audio, video):
        label = audio[:, 0, 0].round().long()
        if self.training:
            return self.w.expand(len(label), -1)
        correct = audio[:, 1, 0] < self.script[self.epoch]
        pred = torch.where(correct, label, (label + 1) % N_CLASSES)
        return nn.functional.one_hot(pred, N_CLASSES).float() + 0 * self.w


def _scripted_loaders():
    ds = ToyAV(20, 5)
    ds.audio[:, 0, 0] = ds.target
    ds.audio[:, 1, 0] = np.arange(20) / 20
    return {"train": DataLoader(ds, batch_size=10), "val": DataLoader(ds, batch_size=10)}


def test_early_stopping_stops_at_patience_and_restores_best_weights():
    script = [0.3, 0.8, 0.5, 0.8, 0.2, 0.9, 1.0]
    weights = {}
    model = _Scripted(script)
    cfg = _cfg(epochs=7, lr=0.1, early_stopping={"kind": "patience", "patience": 2})
    result = fit(
        model,
        _scripted_loaders(),
        cfg,
        "classification",
        unpack=unpack,
        progress=SILENT,
        report=lambda epoch, m: weights.__setitem__(epoch, model.w.detach().clone()),
    )
    assert [h["val/accuracy"] for h in result.history] == pytest.approx([0.3, 0.8, 0.5, 0.8])
    assert result.stopped_early and result.best_epoch == 2
    assert not torch.equal(weights[2], weights[4])
    assert torch.equal(model.w.detach(), weights[2])


def test_monitor_typo_is_a_clear_error():
    with pytest.raises(ValueError, match=r"train.monitor: 'val/acuracy'.*did you mean 'val/accuracy'"):
        fit(ToyModel(), loaders(), _cfg(monitor="val/acuracy"), "classification", unpack=unpack, progress=SILENT)


def test_min_mode_monitor_on_val_loss():
    _, res = _run(0, monitor="val/loss")
    assert res.best_epoch == min(res.history, key=lambda h: h["val/loss"])["epoch"]


@pytest.mark.parametrize("task,key", [("regression", "val/mae"), ("multilabel", "val/wacc")])
def test_other_tasks_train(task, key):
    seed_everything(0)
    n_out = {"regression": 1, "multilabel": 6}[task]
    model = ToyModel(n_out)
    res = fit(model, loaders(task=task), _cfg(epochs=5), task, unpack=unpack, progress=SILENT)
    assert res.monitor == key
    first, last = res.history[0], res.history[-1]
    assert last["train/loss"] < first["train/loss"]
    if task == "regression":
        assert {"val/acc2_has0", "val/acc2_non0", "val/acc7", "val/corr", "val/f1_weighted"} <= set(last)
    else:
        assert res.best_value > 0.6  # balanced accuracy; chance is 0.5


@pytest.mark.filterwarnings("ignore:train.amp. 'bf16' on a CPU without bf16")
def test_bf16_autocast_and_channels_last_on_cpu():
    seed_everything(0)
    res = fit(
        ToyModel(),
        loaders(),
        _cfg(epochs=2, amp="bf16", channels_last=True),
        "classification",
        unpack=unpack,
        progress=SILENT,
    )
    assert res.precision.name == "bf16"
    assert all(np.isfinite(h["train/loss"]) for h in res.history)
    with pytest.raises(RuntimeError, match="fp16.*needs a CUDA device"):
        fit(ToyModel(), loaders(), _cfg(amp="fp16"), "classification", unpack=unpack, progress=SILENT)


@pytest.mark.parametrize("native", [True, False])
def test_bf16_on_a_cpu_without_bf16_instructions_is_warned_about(monkeypatch, recwarn, native):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: native)
    assert resolve_precision("bf16", torch.device("cpu")).name == "bf16"
    slow = [w for w in recwarn if "without bf16 instructions" in str(w.message)]
    assert len(slow) == (0 if native else 1)
    assert resolve_precision("auto", torch.device("cpu")).name == "off"  # the default never picks it on CPU


def test_progress_is_one_callable_type():
    calls = []
    fit(
        ToyModel(),
        loaders(),
        _cfg(epochs=2),
        "classification",
        unpack=unpack,
        progress=lambda epoch, m: calls.append((epoch, sorted(k for k in m if k.startswith("train/loss")))),
    )
    assert calls == [(1, ["train/loss"]), (2, ["train/loss"])]

    shown = io.StringIO()
    bar = EpochBar(0, "val/accuracy", file=shown, disable=False)  # one bar across runs, as a study worker uses it
    bar.restart(3, "cell")
    fit(ToyModel(), loaders(), _cfg(epochs=3), "classification", unpack=unpack, progress=bar)
    assert bar.bar.n == 3 and "val/accuracy=" in bar.bar.postfix and "loss=" in bar.bar.postfix
    bar.close()
    assert "cell" in shown.getvalue()


class _TqdmLike:  # the old tqdm-like hook is not callable: a callable (e.g. EpochBar) replaces it
    def update(self, k):
        pass


@pytest.mark.parametrize("wrong", [False, True, "bar", 3, _TqdmLike()])
def test_a_wrong_progress_type_is_a_clear_type_error(wrong):
    with pytest.raises(TypeError, match=r"progress: expected None .*SILENT or a callable\(epoch, metrics\)"):
        fit(ToyModel(), loaders(), _cfg(epochs=1), "classification", unpack=unpack, progress=wrong)


def test_clipping_bounds_the_update():
    # with SGD (no momentum) and a huge lr, one step moves the weights by lr * clipped grad
    seed_everything(0)
    model = ToyModel()
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    cfg = _cfg(
        epochs=1,
        lr=10.0,
        optimizer={"kind": "sgd", "momentum": 0.0, "dampening": 0.0},
        weight_decay=0.0,
        clip={"kind": "norm", "max_norm": 0.01},
    )
    one = {"train": DataLoader(ToyAV(16, 1), batch_size=16), "val": loaders()["val"]}
    fit(model, one, cfg, "classification", unpack=unpack, progress=SILENT)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after - before).norm().item() == pytest.approx(0.1, rel=1e-3)


def test_make_loaders_drop_last_and_seeded_order():
    from types import SimpleNamespace

    from avtca.training import EvalConfig, make_loaders

    splits = SimpleNamespace(train=ToyAV(10, 1), val=ToyAV(5, 2), test=ToyAV(3, 3))
    cfg = _cfg(batch_size=4)
    ld = make_loaders(splits, cfg, EvalConfig(batch_size=2), torch.device("cpu"))
    assert [len(b["target"]) for b in ld["train"]] == [4, 4]  # the 2-sample remainder is dropped
    assert [len(b["target"]) for b in ld["val"]] == [2, 2, 1]
    order = lambda: [b["id"] for b in make_loaders(splits, cfg, EvalConfig(), torch.device("cpu"))["train"]]  # noqa: E731
    assert order() == order()
    small = SimpleNamespace(train=ToyAV(3, 1), val=ToyAV(3, 2), test=ToyAV(3, 3))
    assert [len(b["target"]) for b in make_loaders(small, cfg, EvalConfig(), torch.device("cpu"))["train"]] == [3]
    keep = make_loaders(splits, _cfg(batch_size=4, drop_last=False), EvalConfig(), torch.device("cpu"))
    assert [len(b["target"]) for b in keep["train"]] == [4, 4, 2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_missing_device_is_a_clear_error():
    from avtca.training.runtime import resolve_device

    assert resolve_device("auto").type in ("cpu", "mps")
    with pytest.raises(RuntimeError, match="train.device: 'cuda:1' requested but CUDA is not available"):
        resolve_device("cuda:1")
