"""Drawing one text per record from several, on the training device."""

import torch


def sample_text_rows(index, counts, generator=None):
    """One random entry of each row of a padded index table.

    Parameters
    ----------
    index : torch.Tensor of int64, shape (batch, max_texts)
        Row ``i`` holds the text rows of record ``i`` in its first
        ``counts[i]`` entries (the rest is padding).
    counts : torch.Tensor of int64, shape (batch,)
        Texts per record, at least 1.
    generator : torch.Generator or None
        On ``index``'s device.

    Returns
    -------
    rows : torch.Tensor of int64, shape (batch,)
        ``index[i, j]`` with ``j`` uniform in ``0 … counts[i]-1``.
    """
    u = torch.rand(len(counts), device=counts.device, generator=generator)
    pick = (u * counts).floor().long().clamp_(max=index.shape[1] - 1)
    pick = torch.minimum(pick, counts - 1)
    return index.gather(1, pick[:, None])[:, 0]
