"""Data-parallel pretraining over two CPU processes (gloo) against one process."""

import pickle

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from _text_encoders import BagOfWords
from sklearn_ecg import LCDPretrainer, METSPretrainer
from sklearn_ecg.datasets import load_ptbxl_sample
from sklearn_ecg.distributed import _GlobalBatchSampler, world
from sklearn_ecg.nn.losses import decorrelation_loss

WORLD_SIZE = 2
PER_PROCESS_BATCH = 8


def _data():
    sample = load_ptbxl_sample()
    return np.ascontiguousarray(sample.X[:32, :3, :256]), list(sample.report[:32])


def _estimators(batch_size, lr=0.05):
    # Views without randomness (the whole record, nothing masked): the two
    # processes then see exactly the inputs of one process, so the losses
    # can be compared step by step. Plain SGD, whose step is proportional to the
    # gradient: Adam's first steps are about lr * sign(gradient), which would hide
    # a gradient of the wrong scale and turn rounding noise into full steps.
    lcd = LCDPretrainer(
        max_epochs=2, batch_size=batch_size, random_state=0, device="cpu",
        optimizer=torch.optim.SGD, lr=lr, crop_scale=(1.0, 1.0), mask_ratio=(0.0, 0.0), projector_dim=32, predictor_dim=32,
    )
    mets = METSPretrainer(
        width=0.0625, max_epochs=2, batch_size=batch_size, random_state=0, device="cpu",
        optimizer=torch.optim.SGD, lr=lr,
        text_encoder=BagOfWords(), translate_reports=False,
    )
    return {"lcd": lcd, "mets": mets}


def _fit_all(batch_size, lr=0.05):
    X, reports = _data()
    fitted = {}
    for name, est in _estimators(batch_size, lr).items():
        kwargs = {"reports": reports} if name == "mets" else {}
        fitted[name] = est.fit(X, **kwargs)
    return fitted


def _worker(rank, store_path, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{store_path}", rank=rank, world_size=WORLD_SIZE
    )
    try:
        assert world() == (rank, WORLD_SIZE)
        fitted = _fit_all(PER_PROCESS_BATCH)
        results = {
            name: {
                "state": {k: v.clone() for k, v in est.net_.module_.state_dict().items()},
                "history": {
                    key: list(est.history_[:, key])
                    for key in ["train_loss"] + [f"{t}_loss" for t in est._loss_terms]
                },
                "pickle": pickle.dumps(est),
            }
            for name, est in fitted.items()
        }
        # No seed given: the first process's draw must reach every process.
        X, _ = _data()
        unseeded = LCDPretrainer(max_epochs=1, batch_size=PER_PROCESS_BATCH, projector_dim=16,
                                 predictor_dim=16, device="cpu").fit(X)
        results["unseeded"] = {"state": unseeded.net_.module_.state_dict()}
        torch.save(results, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_process_fit(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(str(tmp / "store"), str(tmp)), nprocs=WORLD_SIZE, join=True)
    return [torch.load(tmp / f"rank{r}.pt", weights_only=False) for r in range(WORLD_SIZE)]


@pytest.fixture(scope="module")
def one_process_fit():
    # The same global batches: one process with the global batch size, and with the
    # workers' one thread. The thread count changes how torch splits its reductions
    # (hence their rounding), and pytest's default would depend on the machine and
    # on whether pytest-xdist already limited it.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit_all(PER_PROCESS_BATCH * WORLD_SIZE)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lcd", "mets", "unseeded"])
def test_every_rank_ends_with_the_same_weights(two_process_fit, name):
    first, second = (r[name] for r in two_process_fit)
    assert first["state"].keys() == second["state"].keys()
    for key, value in first["state"].items():
        torch.testing.assert_close(second["state"][key], value, rtol=0, atol=0, msg=key)
    assert first.get("history") == second.get("history")


@pytest.mark.parametrize("name", ["lcd", "mets"])
def test_two_processes_match_one_process_on_the_global_batches(
    two_process_fit, one_process_fit, name
):
    ranked = two_process_fit[0][name]
    single = one_process_fit[name]
    for key, losses in ranked["history"].items():
        expected = single.history_[:, key]
        # Epoch 1 averages the loss of the first global batch (before any step) and of
        # the second (after one SGD step). There the two runs differ only by float32
        # rounding (at most 1.3e-6 relative when measured), so rtol=1e-5 leaves a
        # margin, while a step of the wrong size is caught: doubling it (gradients
        # summed over the processes instead of averaged) moves these losses by 0.8 %
        # (METS) to 13 % (LCD's decorrelation term).
        np.testing.assert_allclose(losses[0], expected[0], rtol=1e-5, atol=1e-7, err_msg=key)
        # Later epochs are not compared: in networks this small the training is so
        # sensitive that rounding alone decides them (one process with 1 thread vs
        # 2 threads: LCD losses 3e-7 apart after one step, 8 % after three).
        assert len(losses) == len(expected) == 2 and np.isfinite(losses).all()


@pytest.mark.parametrize("name", ["lcd", "mets"])
def test_a_distributed_model_pickles_like_any_other(two_process_fit, one_process_fit, name):
    est = pickle.loads(two_process_fit[1][name]["pickle"])
    assert all(type(m) is nn.BatchNorm1d
               for m in est.net_.module_.modules() if isinstance(m, nn.BatchNorm1d))
    assert getattr(est.net_, "_data_parallel", None) is None
    for key, value in est.net_.module_.state_dict().items():
        torch.testing.assert_close(value, two_process_fit[1][name]["state"][key], rtol=0, atol=0)
    X, _ = _data()
    Z = est.transform(X)
    assert Z.shape == one_process_fit[name].transform(X).shape
    assert np.isfinite(Z).all()


def test_global_batches_are_the_one_process_batches():
    # 40 records: three full global batches of 12 and a last one of 4,
    # padded to 6 so that every process gets 2.
    n, batch, size = 40, 4, 3
    orders = []
    for rank in range(size):
        gen = torch.Generator().manual_seed(5)
        orders.append(list(_GlobalBatchSampler(n, batch, rank, size, gen)))
    gen = torch.Generator().manual_seed(5)
    single = list(torch.utils.data.BatchSampler(
        torch.utils.data.RandomSampler(range(n), generator=gen), batch * size, drop_last=False
    ))
    assert len(orders[0]) == len(single) == 4
    for step, expected in enumerate(single):
        per_rank = [orders[r][step] for r in range(size)]
        assert len({len(b) for b in per_rank}) == 1  # equal shares, for the collectives
        merged = [i for b in per_rank for i in b]
        assert merged[: len(expected)] == expected
        assert set(merged) <= set(range(n))


def test_one_process_loss_path_is_unchanged():
    # Outside a process group the decorrelation is the plain formula.
    h = torch.randn(16, 6, generator=torch.Generator().manual_seed(0))
    z = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5)
    c = z.T @ z / 16
    diag = torch.diagonal(c)
    expected = (diag - 1).pow(2).sum() + 0.0051 * (c.pow(2).sum() - diag.pow(2).sum())
    torch.testing.assert_close(decorrelation_loss(h), expected, rtol=1e-5, atol=1e-5)
    assert world() is None


def test_epochs_follow_the_one_process_shuffling():
    # The next epoch's order must start where a one-process DataLoader's does.
    def batches(loader):
        return [b.tolist() for _ in range(3) for b in loader]

    gen = torch.Generator().manual_seed(1)
    sampler = _GlobalBatchSampler(10, 5, 0, 1, gen)
    ours = batches(torch.utils.data.DataLoader(range(10), batch_sampler=sampler, generator=gen))
    gen = torch.Generator().manual_seed(1)
    theirs = batches(torch.utils.data.DataLoader(range(10), batch_size=5, shuffle=True, generator=gen))
    assert ours == theirs
