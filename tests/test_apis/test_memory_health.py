"""The memory health report: figures by hand, a tiny model's stream, the tool."""
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from mmvid_memory.apis import init_detector
from mmvid_memory.apis.benchmark import dataset_videos
from mmvid_memory.apis.memory_health import (HealthRecorder, engagement,
                                             memory_temperatures, normalised_attention_entropy,
                                             ogem_read_figures, run_health)
from mmvid_memory.datasets.tiny_cocovid import make_tiny_cocovid
from mmvid_memory.models.memory import MemNetWarper

from ..test_models.test_memnet import const_feats, ctx_for
from ._tiny_config import write_tiny_config

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'memory_health.py'


def test_normalised_entropy_by_hand():
    uniform = torch.full((2, 3, 4), 0.25)
    assert normalised_attention_entropy(uniform) == pytest.approx(1.0)
    one_hot = torch.zeros(2, 3, 4)
    one_hot[..., 1] = 1
    assert normalised_attention_entropy(one_hot) == pytest.approx(0.0, abs=1e-12)
    # One row on two of four locations (entropy log 2 / log 4 = 1/2), one uniform.
    mixed = torch.tensor([[[0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25]]])
    assert normalised_attention_entropy(mixed) == pytest.approx(0.75)
    assert math.isnan(normalised_attention_entropy(torch.zeros(2, 0, 4)))
    with pytest.raises(ValueError, match=r'\(N, l, n\)'):
        normalised_attention_entropy(torch.zeros(3, 4))


def test_read_figures_follow_eq5():
    # Two memory rows both on location 0 of 3: mass 2 there, 0 elsewhere.
    attn = torch.zeros(1, 2, 3)
    attn[0, :, 0] = 1
    figures = ogem_read_figures(attn)
    assert figures['theta'].tolist() == [0.5, 1.0, 1.0]
    assert figures['beta'].tolist() == [0.5, 1.0, 1.0]
    assert figures['entropy'] == pytest.approx(0.0, abs=1e-12)


def test_engagement_by_hand():
    summary = dict(points={
        'pixel.0': dict(entropy_mean=0.5, objects_mean=2.0, objects_on_frames_with_gt_mean=2.5,
                        objects_deleted_total=3.0),
        'instance': dict(entropy_mean=0.9),
        'warp': dict(current_weight_mean=0.5)})
    result = engagement(summary, flow_epe=dict(epe=0.14, zero_epe=0.17))
    assert result['pixel.0']['engaged'] and not result['instance']['engaged']
    assert result['warp']['checks']['flow_epe']['ok']
    summary['points']['pixel.0']['objects_deleted_total'] = 0.0
    assert not engagement(summary)['pixel.0']['engaged']
    assert 'warp' not in engagement(summary)  # no flow figure, nothing to judge


def test_tiny_ogem_stream(tmp_path):
    make_tiny_cocovid(str(tmp_path), 'val', frames_per_video=(4, 3))
    cfg = write_tiny_config(tmp_path, memory='ogem')
    torch.manual_seed(0)
    model = init_detector(str(cfg))
    model.pixel_memory.score_thr = 0.0  # a random detector: write whatever it finds
    recorder = run_health(model, dataset_videos(model.cfg), HealthRecorder('test'))
    summary = recorder.summary()
    assert summary['frames'] == 7
    pixel, instance = summary['points']['pixel.0'], summary['points']['instance']
    assert 0 < pixel['entropy_mean'] <= 1 and 0 < instance['entropy_mean'] <= 1
    assert pixel['objects_written_total'] > 0 and pixel['objects_on_frames_with_gt_mean'] > 0
    assert 0.5 <= pixel['beta_percentiles']['50'] <= 1.0
    assert set(memory_temperatures(model)) == {'pixel_memory', 'instance_memory'}
    assert all(v == pytest.approx(1.0) for v in memory_temperatures(model).values())


def test_warp_figures_of_a_stream():
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow')).eval()
    recorder = HealthRecorder('test')
    state = memory.new_state()
    for t, feat in enumerate(const_feats([1, 2, 3])):
        memory.read(feat, state, ctx_for(t))
        recorder.add_frame({'pixel.0': state}, t, num_gt=1)
    point = recorder.summary()['points']['pixel.0']
    assert point['current_weight_mean'] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert point['age.0_mean'] == 0 and point['evidence_mean'] == 1


def test_health_tool_writes_its_report(tmp_path, capsys):
    make_tiny_cocovid(str(tmp_path), 'val', frames_per_video=(3, 2))
    cfg = write_tiny_config(tmp_path, memory='ogem')
    torch.manual_seed(0)
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=init_detector(str(cfg)).state_dict()), ckpt)
    spec = importlib.util.spec_from_file_location('memory_health_tool', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'health.json'
    assert tool.main([str(cfg), str(ckpt), '--videos', '1', '--train-clips', '0',
                      '--out', str(out)]) == 0
    report = json.loads(out.read_text())
    assert report['test']['frames'] == 3 and 'train_clips' not in report
    assert set(report['engagement']) == {'pixel.0', 'instance'}
    assert 'lambda pixel_memory' in capsys.readouterr().out
    plain = write_tiny_config(tmp_path, memory=None, name='plain.py')
    torch.save(dict(state_dict=init_detector(str(plain)).state_dict()), tmp_path / 'plain.pth')
    with pytest.raises(TypeError, match='not a memory detector'):
        tool.main([str(plain), str(tmp_path / 'plain.pth')])
