"""Read operation of the object guided external memory (Deng et al., Eq. 1-6).

Reading of the seed that this file implements:

* Eq. 1 normalises over the **input locations j** (softmax along the n rows
  of ``x``), not over the memory rows i, so ``sum_i w_ij`` is not 1; this is
  what lets new or background locations take little from memory.
* Eq. 4: ``S(m_i, x_j) = lambda * cos(W_K m_i, W_Q x_j)``, one similarity per
  head k with its own ``W_K^k, W_Q^k`` (c_bar x c).
* Eq. 6: per head ``m~^k_j = theta_j * sum_i w^k_ij (W_V^k m_i)`` with
  ``W_V^k`` (c/N x c); the N heads are concatenated into ``m~_j`` (c).
* Eq. 5: ``theta_j = 1 / max(sum_i w_ij, 1)`` and
  ``beta_j = 1 / (min(sum_i w_ij, 1) + 1)``, where (last paragraph of the
  read section) ``w_ij = (1/N) sum_k w^k_ij`` is the mean over heads. The
  same theta_j scales every head of Eq. 6.
* Eq. 3: ``y_j = beta_j x_j + (1 - beta_j) m~_j``.

An empty memory (l = 0) gives ``sum_i w_ij = 0``, hence beta = 1 and y = x.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# Zero embeddings get a cosine of 0 instead of a division by zero.
_COS_EPS = 1e-12


def _check_read_inputs(x: Tensor, m: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor,
                       temperature: Tensor) -> None:
    if x.dim() != 2:
        raise ValueError(f'ogem_read: x must be (n, c), got {tuple(x.shape)}')
    n, c = x.shape
    if m.dim() != 2 or m.shape[1] != c:
        raise ValueError(f'ogem_read: m must be (l, c={c}) like x {tuple(x.shape)}, '
                         f'got {tuple(m.shape)}')
    if w_q.dim() != 3 or w_q.shape[2] != c:
        raise ValueError(f'ogem_read: w_q must be (N, c_bar, c={c}), got {tuple(w_q.shape)}')
    if w_k.shape != w_q.shape:
        raise ValueError(f'ogem_read: w_k {tuple(w_k.shape)} must match w_q {tuple(w_q.shape)}')
    num_heads = w_q.shape[0]
    if c % num_heads != 0:
        raise ValueError(f'ogem_read: c={c} is not divisible by N={num_heads} heads')
    if tuple(w_v.shape) != (num_heads, c // num_heads, c):
        raise ValueError(f'ogem_read: w_v must be (N={num_heads}, c/N={c // num_heads}, c={c}), '
                         f'got {tuple(w_v.shape)}')
    if temperature.numel() != 1:
        raise ValueError(f'ogem_read: temperature must be a scalar, got {tuple(temperature.shape)}')


def project_memory(m: Tensor, w_k: Tensor, w_v: Tensor) -> Tuple[Tensor, Tensor]:
    """The memory side of a read, which only changes when memory is written.

    Args:
        m (Tensor): memory rows, (l, c).
        w_k (Tensor): W_K^k, (N, c_bar, c).
        w_v (Tensor): W_V^k, (N, c/N, c).

    Returns:
        tuple[Tensor, Tensor]: unit keys W_K^k m_i / ||W_K^k m_i||, (N, l, c_bar),
        and values W_V^k m_i, (N, l, c/N).
    """
    keys = F.normalize(torch.einsum('kdc,lc->kld', w_k, m), dim=-1, eps=_COS_EPS)
    return keys, torch.einsum('kec,lc->kle', w_v, m)


def _attention_from_keys(x: Tensor, keys: Tensor, w_q: Tensor, temperature: Tensor) -> Tensor:
    query = F.normalize(torch.einsum('kdc,nc->knd', w_q, x), dim=-1, eps=_COS_EPS)
    similarity = temperature.reshape(()) * torch.bmm(keys, query.transpose(1, 2))
    return similarity.softmax(dim=-1)


def ogem_attention(x: Tensor, m: Tensor, w_q: Tensor, w_k: Tensor,
                   temperature: Tensor) -> Tensor:
    """Per-head attention weights of Eq. 1 with the similarity of Eq. 4.

    Args:
        x (Tensor): input features, (n, c).
        m (Tensor): memory rows, (l, c).
        w_q (Tensor): query embeddings W_Q^k, (N, c_bar, c).
        w_k (Tensor): key embeddings W_K^k, (N, c_bar, c).
        temperature (Tensor): lambda, a scalar.

    Returns:
        Tensor: w^k_ij, (N, l, n), softmax over the n input locations, so
        ``attn.sum(-1) == 1`` for every head and memory row.
    """
    keys = F.normalize(torch.einsum('kdc,lc->kld', w_k, m), dim=-1, eps=_COS_EPS)
    return _attention_from_keys(x, keys, w_q, temperature)


def ogem_scales(attn_mean: Tensor) -> Tuple[Tensor, Tensor]:
    """The scale parameters theta and beta of Eq. 5.

    Args:
        attn_mean (Tensor): head-mean attention w_ij, (l, n).

    Returns:
        tuple[Tensor, Tensor]: theta (n,) and beta (n,).
    """
    mass = attn_mean.sum(dim=0)
    theta = 1.0 / mass.clamp(min=1.0)
    beta = 1.0 / (mass.clamp(max=1.0) + 1.0)
    return theta, beta


def ogem_read_projected(x: Tensor, keys: Tensor, values: Tensor, w_q: Tensor,
                        temperature: Tensor) -> Tuple[Tensor, Tensor]:
    """:func:`ogem_read` from the memory's projections (:func:`project_memory`),
    so that inference can reuse them until the memory is written again.

    Args:
        x (Tensor): input features, (n, c).
        keys (Tensor): unit keys, (N, l, c_bar), l > 0.
        values (Tensor): values, (N, l, c/N).
        w_q (Tensor): W_Q^k, (N, c_bar, c).
        temperature (Tensor): lambda, a scalar.

    Returns:
        tuple[Tensor, Tensor]: y (n, c) and attn (N, l, n) as :func:`ogem_read`.
    """
    n, c = x.shape
    attn = _attention_from_keys(x, keys, w_q, temperature)
    theta, beta = ogem_scales(attn.mean(dim=0))
    aligned = torch.bmm(attn.transpose(1, 2), values)  # (N, n, c/N)
    aligned = aligned.transpose(0, 1).reshape(n, c) * theta[:, None]
    y = beta[:, None] * x + (1.0 - beta[:, None]) * aligned
    return y, attn


def ogem_read(x: Tensor, m: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor,
              temperature: Tensor) -> Tuple[Tensor, Tensor]:
    """Read memory ``m`` into features ``x`` (Eq. 1-6), differentiable.

    Args:
        x (Tensor): input features, (n, c): the n locations of a feature map
            or n RoI features flattened to vectors.
        m (Tensor): memory matrix, (l, c); l may be 0. Cast to x's dtype and
            device.
        w_q (Tensor): W_Q^k, (N, c_bar, c).
        w_k (Tensor): W_K^k, (N, c_bar, c).
        w_v (Tensor): W_V^k, (N, c/N, c).
        temperature (Tensor): lambda, a scalar tensor.

    Returns:
        tuple[Tensor, Tensor]: y (n, c), the aggregated features of Eq. 3,
        and attn (N, l, n), the per-head weights of Eq. 1 normalised over the
        n input locations. With l = 0, y is x and attn is (N, 0, n).
    """
    _check_read_inputs(x, m, w_q, w_k, w_v, temperature)
    n = x.shape[0]
    if m.shape[0] == 0:
        return x, x.new_zeros(w_q.shape[0], 0, n)
    keys, values = project_memory(m.to(device=x.device, dtype=x.dtype), w_k, w_v)
    return ogem_read_projected(x, keys, values, w_q, temperature)
