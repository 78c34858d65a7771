"""tools/analysis_tools/benchmark.py: the report's fields (never its timing values)."""
import importlib.util
import json
from pathlib import Path

import pytest

from mmvid_memory.datasets.tiny_cocovid import make_tiny_cocovid

from ._tiny_config import write_tiny_config

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'benchmark.py'
SECTIONS = ('backbone', 'memory_read', 'memory_write', 'heads', 'other', 'total')


def run_tool(argv):
    spec = importlib.util.spec_from_file_location('benchmark_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main([str(a) for a in argv])


def check_timings(report):
    ms = report['ms_per_frame']
    assert set(ms) == set(SECTIONS)
    assert ms['total'] == pytest.approx(sum(ms[k] for k in SECTIONS if k != 'total'))
    assert all(row['total'] >= 0 for row in report['per_frame'])
    assert report['fps'] > 0


def test_synthetic_benchmark_report(tmp_path, capsys):
    cfg = write_tiny_config(tmp_path, memory='ogem')
    out = tmp_path / 'bench' / 'report.json'
    assert run_tool([cfg, '--synthetic', 48, 64, '--max-videos', 2, '--video-length', 3,
                     '--warmup', 2, '--out', out]) == 0
    printed = capsys.readouterr().out
    assert 'memory_read' in printed and 'pixel.0.rows' in printed
    report = json.loads(out.read_text())
    assert report['source'] == 'synthetic 48x64'
    assert (report['num_videos'], report['frames_run'], report['frames_timed']) == (2, 6, 4)
    check_timings(report)
    assert report['timed_points']['memory_read'] == [
        'ExternalMemoryAggregator.read', 'ExternalMemoryAggregator.read']
    assert report['timed_points']['heads'] == ['RPNHead.predict', 'StandardRoIHead.predict']
    assert report['timed_points']['backbone'] == ['FasterRCNN.extract_feat']
    videos = report['memory']['per_video']
    assert [v['video_id'] for v in videos] == [0, 1]
    assert [[f['frame_id'] for f in v['frames']] for v in videos] == [[0, 1, 2], [0, 1, 2]]
    assert all(f['memory_stats']['pixel.0.rows'] > 0 for v in videos for f in v['frames'])
    summary = report['memory']['summary']['pixel.0.rows']
    assert 0 < summary['mean'] <= summary['max']
    # --num-frames stops early
    run_tool([cfg, '--synthetic', 32, 32, '--video-length', 4, '--warmup', 1,
              '--num-frames', 2, '--out', out])
    assert json.loads(out.read_text())['frames_run'] == 3


def test_dataset_benchmark_runs_whole_videos_in_order(tmp_path):
    make_tiny_cocovid(str(tmp_path), 'val', frames_per_video=(3, 2, 2))
    cfg = write_tiny_config(tmp_path, memory=None, single_stage=True)
    out = tmp_path / 'report.json'
    run_tool([cfg, '--max-videos', 2, '--warmup', 1, '--out', out])
    report = json.loads(out.read_text())
    assert report['source'] == 'test_dataloader'
    assert [len(v['frames']) for v in report['memory']['per_video']] == [3, 2]
    assert report['frames_timed'] == 4
    check_timings(report)
    # a plain single-stage detector: no memory sections, no memory rows
    assert report['timed_points']['memory_read'] == []
    assert report['timed_points']['heads'] == ['RetinaHead.predict']
    assert report['ms_per_frame']['memory_read'] == 0
    assert report['memory']['summary'] == {}
    with pytest.raises(ValueError, match='not more than the warm-up of 9'):
        run_tool([cfg, '--max-videos', 1, '--warmup', 9])


@pytest.mark.cuda
def test_cuda_benchmark_and_stream_agree_with_cpu(tmp_path):
    import torch

    from mmvid_memory.apis import init_detector, open_stream

    from ._tiny_config import moving_square_frames
    cfg = write_tiny_config(tmp_path, memory='ogem')
    out = tmp_path / 'report.json'
    run_tool([cfg, '--synthetic', 48, 64, '--video-length', 3, '--warmup', 1,
              '--device', 'cuda', '--out', out])
    report = json.loads(out.read_text())
    assert report['device'].startswith('cuda')
    check_timings(report)
    torch.manual_seed(0)
    cpu_model = init_detector(cfg)
    gpu_model = init_detector(cfg, device='cuda')
    gpu_model.load_state_dict(cpu_model.state_dict())
    frame = moving_square_frames(1)[0]
    cpu_res = open_stream(cpu_model).push(frame).pred_instances
    gpu_res = open_stream(gpu_model).push(frame).pred_instances
    assert gpu_res.bboxes.is_cuda
    torch.testing.assert_close(gpu_res.scores.cpu(), cpu_res.scores, atol=1e-3, rtol=1e-3)
