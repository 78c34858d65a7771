"""ogem_read (Deng et al., Eq. 1-6) against hand computations."""
import math

import pytest
import torch

from mmvid_memory.models.memory import ogem_read, ogem_scales

R = 1 / math.sqrt(2)


def tiny_weights():
    """c=4, N=2 heads, c_bar=2; W_K of head 1 swaps the two dims W_Q picks,
    so that mixing up W_Q and W_K changes the result."""
    w_q = torch.tensor([[[1., 0, 0, 0], [0, 1, 0, 0]],
                        [[0., 0, 1, 0], [0, 0, 0, 1]]])
    w_k = torch.tensor([[[0., 1, 0, 0], [1, 0, 0, 0]],
                        [[0., 0, 1, 0], [0, 0, 0, 1]]])
    w_v = torch.eye(4).reshape(2, 2, 4)
    return w_q, w_k, w_v


X = [[1., 0, 1, 0], [0., 1, 0, 1], [1., 1, 0, 2]]
M = [[2., 0, 0, 3], [0., 1, 1, 0]]
# cos(W_K^k m_i, W_Q^k x_j) worked out by hand from the vectors above:
# head 1: W_K m1 = (0, 2), W_K m2 = (1, 0); W_Q x = (1, 0), (0, 1), (1, 1)
# head 2: W_K m1 = (0, 3), W_K m2 = (1, 0); W_Q x = (1, 0), (0, 1), (0, 2)
COS = [[[0., 1., R], [1., 0., R]],
       [[0., 1., 1.], [1., 0., 0.]]]


def hand_read(lam):
    """Eq. 1-6 written out element by element."""
    n, l, heads, dh = 3, 2, 2, 2
    w = [[[0.0] * n for _ in range(l)] for _ in range(heads)]
    for k in range(heads):
        for i in range(l):
            z = sum(math.exp(lam * COS[k][i][j]) for j in range(n))
            for j in range(n):
                w[k][i][j] = math.exp(lam * COS[k][i][j]) / z
    mass = [sum((w[0][i][j] + w[1][i][j]) / 2 for i in range(l)) for j in range(n)]
    theta = [1 / max(s, 1.0) for s in mass]
    beta = [1 / (min(s, 1.0) + 1) for s in mass]
    y = []
    for j in range(n):
        aligned = []
        for k in range(heads):
            for d in range(dh):  # W_V^k m_i = m_i[k*dh + d]
                aligned.append(theta[j] * sum(w[k][i][j] * M[i][k * dh + d] for i in range(l)))
        y.append([beta[j] * X[j][c] + (1 - beta[j]) * aligned[c] for c in range(4)])
    return y, w


@pytest.mark.parametrize('lam', [1.0, 2.0])
def test_ogem_read_matches_hand_computation(lam):
    w_q, w_k, w_v = tiny_weights()
    y, attn = ogem_read(torch.tensor(X), torch.tensor(M), w_q, w_k, w_v, torch.tensor(lam))
    y_hand, w_hand = hand_read(lam)
    assert attn.shape == (2, 2, 3)
    torch.testing.assert_close(attn, torch.tensor(w_hand), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(y, torch.tensor(y_hand), rtol=1e-5, atol=1e-6)


def test_ogem_read_pinned_values():
    # Regression pin of the tiny case at lambda = 2 (from hand_read).
    w_q, w_k, w_v = tiny_weights()
    y, _ = ogem_read(torch.tensor(X), torch.tensor(M), w_q, w_k, w_v, torch.tensor(2.0))
    y_hand, _ = hand_read(2.0)
    assert y[2, 3].item() == pytest.approx(y_hand[2][3], rel=1e-6)
    assert y[0].tolist() == pytest.approx([0.6371, 0.2553, 0.9080, 0.0821], abs=1e-4)


def test_attention_normalised_over_input_locations_not_memory_rows():
    torch.manual_seed(0)
    x, m = torch.randn(5, 8), torch.randn(3, 8)
    w_q, w_k = torch.randn(2, 4, 8), torch.randn(2, 4, 8)
    _, attn = ogem_read(x, m, w_q, w_k, torch.eye(8).reshape(2, 4, 8), torch.tensor(3.0))
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 3))
    assert not torch.allclose(attn.sum(1), torch.ones(2, 5))


def test_theta_divides_crowded_locations_and_beta_halves():
    # Three memory rows all match location 0 sharply: sum_i w_i0 ~ 3, so
    # theta_0 = 1/3 (m~_0 is the mean of the rows) and beta_0 = 1/2.
    x = torch.tensor([[1., 0], [0., 1]])
    m = torch.tensor([[2., 0], [4., 0], [6., 0]])
    w_q = w_k = torch.eye(2).reshape(1, 2, 2)
    y, attn = ogem_read(x, m, w_q, w_k, torch.eye(2).reshape(1, 2, 2), torch.tensor(60.0))
    theta, beta = ogem_scales(attn.mean(0))
    assert theta[0].item() == pytest.approx(1 / 3, rel=1e-4)
    assert beta[0].item() == pytest.approx(0.5, rel=1e-4)
    # location 1 gets almost nothing: theta = 1 and beta ~ 1 keep x_1
    assert theta[1].item() == 1.0 and beta[1].item() == pytest.approx(1.0, abs=1e-4)
    torch.testing.assert_close(y[0], torch.tensor([0.5 * 1 + 0.5 * 4.0, 0.0]), atol=1e-4,
                               rtol=1e-4)
    torch.testing.assert_close(y[1], x[1], atol=1e-4, rtol=1e-4)


def test_empty_memory_returns_input():
    w_q, w_k, w_v = tiny_weights()
    x = torch.tensor(X)
    y, attn = ogem_read(x, torch.zeros(0, 4), w_q, w_k, w_v, torch.tensor(1.0))
    assert torch.equal(y, x)
    assert attn.shape == (2, 0, 3)


def test_gradients_reach_every_input():
    torch.manual_seed(0)
    x = torch.randn(6, 8, requires_grad=True)
    m = torch.randn(4, 8)
    w_q = (torch.randn(2, 3, 8) * 0.5).requires_grad_()
    w_k = (torch.randn(2, 3, 8) * 0.5).requires_grad_()
    w_v = torch.eye(8).reshape(2, 4, 8).clone().requires_grad_()
    lam = torch.tensor(1.0, requires_grad=True)
    y, _ = ogem_read(x, m, w_q, w_k, w_v, lam)
    (y * torch.randn_like(y)).sum().backward()
    for name, tensor in dict(x=x, w_q=w_q, w_k=w_k, w_v=w_v, temperature=lam).items():
        assert tensor.grad is not None and tensor.grad.abs().sum() > 0, name


@pytest.mark.parametrize('bad, match', [
    (dict(x=torch.zeros(3, 4, 1)), r'x must be \(n, c\)'),
    (dict(m=torch.zeros(2, 5)), r'm must be \(l, c=4\)'),
    (dict(w_v=torch.zeros(2, 4, 4)), r'w_v must be \(N=2, c/N=2, c=4\)'),
    (dict(w_q=torch.zeros(3, 2, 4), w_k=torch.zeros(3, 2, 4)), r'c=4 is not divisible by N=3'),
    (dict(temperature=torch.ones(2)), 'temperature must be a scalar'),
])
def test_bad_shapes_name_the_input(bad, match):
    w_q, w_k, w_v = tiny_weights()
    args = dict(x=torch.tensor(X), m=torch.tensor(M), w_q=w_q, w_k=w_k, w_v=w_v,
                temperature=torch.tensor(1.0))
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        ogem_read(**args)
