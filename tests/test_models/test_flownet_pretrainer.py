"""FlowNet pre-training on ground-truth fields: loss, metric, checkpoint hand-over."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope
from mmengine.structures import BaseDataElement

import mmvid_memory  # noqa: F401
from mmvid_memory.evaluation import FlowEPEMetric
from mmvid_memory.models.flownets import (FlowNetS, endpoint_error, multiscale_epe_loss,
                                          pool_flow)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FLOW_CONFIG = 'configs/flownet/flownets-c8_1xb8-6k_synthvid-flow.py'


def _pretrainer(**kwargs):
    init_default_scope('mmdet')
    return MODELS.build(dict(type='FlowNetPretrainer',
                             flow_net=dict(type='FlowNetS', base_channels=4, feature_stride=16,
                                           zero_init_last=False), **kwargs))


def _shifted_pairs(n, dx, dy, size=64, seed=0):
    """Smooth random textures and their copies moved by (dx, dy) whole pixels."""
    gen = torch.Generator().manual_seed(seed)
    big = torch.nn.functional.interpolate(
        torch.rand(n, 3, size // 4 + 4, size // 4 + 4, generator=gen) * 255,
        size=(size + 16, size + 16), mode='bicubic', align_corners=False).clamp(0, 255)
    cur = big[..., 8:8 + size, 8:8 + size]
    ref = big[..., 8 - dy:8 - dy + size, 8 - dx:8 - dx + size]
    inputs = [torch.cat([c, r]).to(torch.uint8) for c, r in zip(cur, ref)]
    samples = []
    for _ in range(n):
        sample = BaseDataElement(metainfo=dict(gap=1))
        sample.gt_flow = torch.tensor([float(dx), float(dy)]).view(2, 1, 1).expand(
            2, size // 4, size // 4).clone()
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_endpoint_error_and_pooling():
    pred = torch.zeros(1, 2, 2, 2)
    target = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    assert torch.allclose(endpoint_error(pred, target), torch.full((1, 2, 2), 5.0))
    field = torch.arange(16.0).view(1, 1, 4, 4).repeat(1, 2, 1, 1)
    pooled = pool_flow(field, (2, 2))
    assert torch.allclose(pooled[0, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]]))
    with pytest.raises(ValueError, match='differ'):
        endpoint_error(pred, torch.zeros(1, 2, 3, 3))


def test_multiscale_loss_by_hand():
    gt = torch.tensor([4.0, 0.0]).view(1, 2, 1, 1).expand(1, 2, 8, 8)
    preds = {6: torch.zeros(1, 2, 1, 1), 3: torch.full((1, 2, 4, 4), 0.1)}
    losses = multiscale_epe_loss(preds, gt, unit=40.0, weights={6: 0.5, 3: 2.0})
    # target = gt / 40 = (0.1, 0): level 6 misses by 0.1, level 3 by (0, 0.1).
    assert losses[6].item() == pytest.approx(0.5 * 0.1)
    assert losses[3].item() == pytest.approx(2.0 * 0.1)
    with pytest.raises(ValueError, match='no level'):
        multiscale_epe_loss(preds, gt, unit=40.0, weights={4: 1.0})


def test_preprocessor_normalises_both_images():
    init_default_scope('mmdet')
    pre = MODELS.build(dict(type='FlowPairDataPreprocessor', mean=[10, 20, 30], std=[2, 4, 5],
                            bgr_to_rgb=True))
    pair = torch.zeros(6, 2, 2, dtype=torch.uint8)
    pair[0] = 30  # B of frame t -> R after the swap
    pair[5] = 10  # R of frame s -> B
    out = pre(dict(inputs=[pair], data_samples=[None]))['inputs']
    assert out.shape == (1, 6, 2, 2)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([-5.0, -5.0, 0.0, 0.0, -5.0, -6.0]))
    with pytest.raises(ValueError, match='different sizes'):
        pre(dict(inputs=[pair, torch.zeros(6, 3, 3, dtype=torch.uint8)]))
    with pytest.raises(ValueError, match=r'\(N, 6, H, W\)'):
        pre(dict(inputs=[torch.zeros(3, 2, 2, dtype=torch.uint8)]))


def test_training_learns_a_shift():
    """A few Adam steps on textures moved by (4, -4) px bring the EPE well below
    the zero field's (0.35 feature px)."""
    torch.manual_seed(0)
    model = _pretrainer(level_weights={6: 0.02, 5: 0.04, 4: 0.08, 3: 0.32})
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    batch = _shifted_pairs(4, 4, -4)
    first = None
    for _ in range(60):
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
        assert set(losses) == {'loss_flow6', 'loss_flow5', 'loss_flow4', 'loss_flow3', 'epe'}
        first = losses['epe'].item() if first is None else first
        optim.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optim.step()
    model.eval()
    with torch.no_grad():
        out = model(**model.data_preprocessor(batch), mode='predict')
    zero = (4 * 2 ** 0.5) / 16
    epe = endpoint_error(torch.stack([s.pred_flow for s in out]),
                         torch.tensor([0.25, -0.25]).view(1, 2, 1, 1).expand(4, 2, 4, 4))
    assert epe.mean().item() < 0.5 * zero, (first, epe.mean().item())
    assert out[0].pred_stride == 16.0
    with pytest.raises(ValueError, match="unknown mode 'x'"):
        model(**model.data_preprocessor(batch), mode='x')


def test_metric():
    metric = FlowEPEMetric(moving_threshold=0.1)
    gt = torch.tensor([3.2, 0.0]).view(2, 1, 1).expand(2, 8, 8).clone()  # 0.2 feature px
    samples = []
    for gap, pred in ((1, gt[:, :2, :2] / 16), (2, torch.zeros(2, 2, 2))):
        samples.append(dict(pred_flow=pred, gt_flow=gt, metainfo=dict(gap=gap, pred_stride=16)))
    metric.process({}, samples)
    result = metric.compute_metrics(metric.results)
    assert result['epe_gap1'] == pytest.approx(0.0, abs=1e-4)
    assert result['epe_gap2'] == pytest.approx(0.2, abs=1e-4)
    assert result['zero_epe'] == pytest.approx(0.2, abs=1e-4)
    assert result['epe'] == pytest.approx(0.1, abs=1e-4)
    with pytest.raises(ValueError, match='no predictions'):
        metric.compute_metrics([])


def test_pretrained_weights_load_into_a_memory_flow_net(tmp_path):
    """A FlowNetPretrainer checkpoint (``flow_net.`` keys) loads through FlowNetS's
    init_cfg with prefix 'flow_net.', and gives the same fields."""
    model = _pretrainer()
    path = str(tmp_path / 'flow.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    net = FlowNetS(base_channels=4, feature_stride=16,
                   init_cfg=dict(type='Pretrained', checkpoint=path, prefix='flow_net.'))
    net.init_weights()
    a, b = torch.randn(1, 3, 64, 64), torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(net(a, b), model.flow_net(a, b))


@pytest.mark.slow
def test_config_trains_tests_and_eval_flow_tool(tmp_path):
    """tools/train.py and tools/test.py on the flow config over a tiny SynthVID-Flow,
    then eval_flow.py on a checkpoint that holds the network under another prefix."""
    root = str(tmp_path / 'flow') + '/'
    params = dict(train_videos=2, val_videos=1, gaps=(1, 4), pairs_per_gap=2,
                  synthvid=dict(frames=8, size=96, seed=2))
    data = f'dict(data_root={root!r}, synthvid_flow_params={params!r})'
    config = tmp_path / 'tiny_flow.py'
    config.write_text(
        f'_base_ = {osp.join(ROOT, FLOW_CONFIG)!r}\n'
        'model = dict(flow_net=dict(base_channels=4))\n'
        'train_cfg = dict(max_iters=4, val_interval=4)\n'
        'default_hooks = dict(checkpoint=dict(interval=4))\n'
        f'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
        f'dataset={data})\n'
        f'val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
        f'dataset={data})\n'
        'test_dataloader = val_dataloader\n')
    work = str(tmp_path / 'work')
    env = dict(__import__('os').environ, OMP_NUM_THREADS='1')

    def run(cmd):
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:]
        return proc.stdout

    run([sys.executable, 'tools/train.py', str(config), '--work-dir', work])
    ckpt = osp.join(work, 'iter_4.pth')
    out = str(tmp_path / 'm.json')
    run([sys.executable, 'tools/test.py', str(config), ckpt, '--work-dir', work,
         '--metrics-out', out])
    with open(out) as f:
        metrics = json.load(f)
    assert metrics['flow/zero_epe'] > 0 and metrics['flow/epe'] >= 0
    assert {'flow/epe_gap1', 'flow/epe_gap4'} <= set(metrics)
    # The same network inside a "detector" checkpoint, under another prefix.
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    wrapped = str(tmp_path / 'detector.pth')
    torch.save(dict(state_dict={'pixel_memory.' + k: v for k, v in state.items()}), wrapped)
    out2 = str(tmp_path / 'm2.json')
    run([sys.executable, 'tools/analysis_tools/eval_flow.py', str(config), wrapped, '--prefix',
         'pixel_memory.flow_net.', '--metrics-out', out2])
    with open(out2) as f:
        assert json.load(f) == pytest.approx(metrics)
    proc = subprocess.run([sys.executable, 'tools/analysis_tools/eval_flow.py', str(config),
                           wrapped], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode != 0 and 'no key starts with' in proc.stdout


def test_shipped_flow_checkpoint_loads_through_the_clocknet_config():
    """The SynthVID-Flow pre-training shipped in checkpoints/ is intact and fills the
    FlowNetS of configs/clocknet/clocknet-flowpre_rfcn_r18-dc5_synthvid.py exactly."""
    from mmengine.config import Config

    from mmvid_memory.utils.published import verify_published
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/clocknet/clocknet-flowpre_rfcn_r18-dc5_synthvid.py'))
    flow_cfg = cfg.model.pixel_memory.flow_net
    path = osp.join(ROOT, flow_cfg.init_cfg.checkpoint)
    verify_published(path)
    net = MODELS.build(dict(flow_cfg, init_cfg=dict(flow_cfg.init_cfg, checkpoint=path)))
    net.init_weights()
    state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
    own = net.state_dict()
    assert set(own) == {k[len('flow_net.'):] for k in state}
    for key, value in own.items():
        assert torch.equal(value, state['flow_net.' + key]), key
