"""The two-stage memory protocol's configs on a tiny SynthVID, through the tools.

Stage 1 trains the memory on the frozen shipped baseline (its weights must
not move), stage 2 continues end to end from stage 1's checkpoint with
BatchNorm frozen, and the same-budget control (stage 2 without the memory)
starts from the baseline; each is then tested with the VID metric, which
reports SynthVID's degraded and clean frames.
"""
import json
import os.path as osp
import sys

import pytest
import torch

from mmvid_memory.utils.checkpoint import load_checkpoint_file

from .test_synthvid_configs_run import ROOT, TINY_SYNTHVID, _run

FAMILIES = {
    'ogem': ('configs/ogem/ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500_synthvid.py',
             'configs/ogem/ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py',
             'configs/ogem/ogem-nomem_rfcn_r18-dc5_1xb2-e2e300_synthvid.py'),
    'clocknet': ('configs/clocknet/clocknet_rfcn_r18-dc5_1xb1-mem500_synthvid.py',
                 'configs/clocknet/clocknet_rfcn_r18-dc5_1xb1-mem500-e2e300_synthvid.py',
                 'configs/clocknet/clocknet-nomem_rfcn_r18-dc5_1xb1-e2e300_synthvid.py'),
}
BASELINE = 'checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth'


def tiny(folder, config, name):
    """The config on a tiny SynthVID, 2 iterations, batch 1, no workers."""
    root = osp.join(folder, 'synthvid') + '/'
    data = f'dict(data_root={root!r}, synthvid_params={TINY_SYNTHVID!r})'
    text = (f'_base_ = {osp.join(ROOT, config)!r}\n'
            'train_cfg = dict(max_iters=2, val_interval=2)\n'
            'default_hooks = dict(checkpoint=dict(interval=2))\n'
            f'train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False, '
            f'dataset={data})\n'
            f'val_dataloader = dict(num_workers=0, persistent_workers=False, dataset={data})\n'
            'test_dataloader = val_dataloader\n')
    path = osp.join(folder, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def train(config, work_dir, *options):
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir]
    if options:
        cmd += ['--cfg-options', *options]
    _run(cmd)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def weights(path):
    return load_checkpoint_file(path, map_location='cpu')['state_dict']


@pytest.mark.slow
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_two_stages_and_the_control(tmp_path, family):
    stage1, stage2, control = FAMILIES[family]
    folder = str(tmp_path)
    ckpt1 = train(tiny(folder, stage1, 'stage1.py'), str(tmp_path / 'w1'))
    first = weights(ckpt1)
    shipped = weights(osp.join(ROOT, BASELINE))
    # The detector is the shipped baseline, untouched; the memory trained.
    for key, value in shipped.items():
        assert torch.equal(first['detector.' + key], value), key
    memory = [k for k in first if k.startswith('pixel_memory.')]
    assert memory
    ckpt2 = train(tiny(folder, stage2, 'stage2.py'), str(tmp_path / 'w2'), f'load_from={ckpt1}')
    second = weights(ckpt2)
    assert any(not torch.equal(second[k], first[k]) for k in first if k.startswith('detector.'))
    ckpt3 = train(tiny(folder, control, 'control.py'), str(tmp_path / 'w3'))
    third = weights(ckpt3)
    assert not any(k.startswith(('pixel_memory.', 'instance_memory.')) for k in third)
    # The control starts from the baseline: 2 AdamW steps move no weight far.
    key = 'detector.backbone.conv1.weight'
    assert torch.allclose(third[key], shipped[key[len('detector.'):]], atol=1e-2)
    metrics_file = str(tmp_path / 'metrics.json')
    _run([sys.executable, 'tools/test.py', tiny(folder, stage2, 'stage2.py'), ckpt2,
          '--work-dir', str(tmp_path / 'w2'), '--metrics-out', metrics_file])
    with open(metrics_file) as f:
        metrics = json.load(f)
    with open(osp.join(folder, 'synthvid', 'annotations', 'synthvid_val.json')) as f:
        num_frames = len(json.load(f)['images'])
    assert metrics['vid/frames_degraded'] + metrics['vid/frames_clean'] == num_frames
