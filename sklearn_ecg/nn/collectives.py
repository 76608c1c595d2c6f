"""Differentiable collectives over a torch.distributed process group.

Plain torch, for the losses that must see the global batch of a data-parallel
fit: the caller passes the process group (None never reaches these functions).
"""

import torch


class _AllReduceSum(torch.autograd.Function):
    """Sum over the processes; the gradient is summed likewise.

    Every process computes the same global loss from the sum, so the gradient
    reaching each process's own term is the sum of all processes' gradients
    with respect to the sum (torch's averaging of the parameter gradients then
    divides that by the world size again).
    """

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        out = tensor.clone(memory_format=torch.contiguous_format)
        torch.distributed.all_reduce(out, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone(memory_format=torch.contiguous_format)
        torch.distributed.all_reduce(grad, group=ctx.group)
        return grad, None


class _AllGather(torch.autograd.Function):
    """Rows of every process concatenated in rank order, with gradients.

    The backward pass sums the gradients of every process and keeps this
    process's rows (a reduce-scatter written as an all-reduce, which every
    backend, gloo included, provides).
    """

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        ctx.rank = torch.distributed.get_rank(group)
        ctx.rows = tensor.shape[0]
        parts = [torch.empty_like(tensor) for _ in range(torch.distributed.get_world_size(group))]
        torch.distributed.all_gather(parts, tensor.contiguous(), group=group)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous()
        torch.distributed.all_reduce(grad, group=ctx.group)
        start = ctx.rank * ctx.rows
        return grad[start : start + ctx.rows], None


def all_reduce_sum(tensor, group):
    """Differentiable sum of ``tensor`` over the processes of ``group``."""
    return _AllReduceSum.apply(tensor, group)


def all_gather(tensor, group):
    """Differentiable concatenation of every process's ``tensor`` along dim 0.

    Every process must hold the same number of rows.
    """
    return _AllGather.apply(tensor, group)


def global_batch_norm(x, group, eps=1e-5):
    """Normalise ``x`` (batch, channels[, time]) with statistics of the global batch.

    Returns the normalised tensor, the global mean and biased variance per
    channel, and the number of values per channel in the global batch.
    """
    dims = [0, *range(2, x.dim())]
    x32 = x.float()
    count = torch.tensor(float(x.numel() // x.shape[1]), device=x.device)
    with torch.no_grad():
        n = all_reduce_sum(count, group)
    mean = all_reduce_sum(x32.sum(dims), group) / n
    shape = [1, -1] + [1] * (x.dim() - 2)
    centred = x32 - mean.reshape(shape)
    var = all_reduce_sum(centred.pow(2).sum(dims), group) / n
    return centred * torch.rsqrt(var + eps).reshape(shape), mean, var, n
