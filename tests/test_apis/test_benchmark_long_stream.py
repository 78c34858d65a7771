"""tools/analysis_tools/benchmark_long_stream.py: windows and memory rows (never timing values)."""
import importlib.util
import json
from pathlib import Path

import pytest

from ._tiny_config import write_tiny_config

TOOL = (Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' /
        'benchmark_long_stream.py')


def run_tool(argv):
    spec = importlib.util.spec_from_file_location('benchmark_long_stream_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main([str(a) for a in argv])


def test_built_in_tiny_model_reports_windows_and_bounded_memory(tmp_path, capsys):
    out = tmp_path / 'stream.json'
    report = run_tool(['--num-frames', 25, '--window', 10, '--cpu-threads', 1, '--out', out])
    assert [w['frames'] for w in report['windows']] == ['0-9', '10-19', '20-24']
    last = report['windows'][-1]
    # 16 proposals per frame; pixel rows within (C * cap + 1) * n = 31 * 16 * 16
    assert last['instance.rows_max'] == 16
    assert 0 < last['pixel.0.rows_max'] <= 31 * 256
    assert report['last_over_second_window'] > 0
    assert json.loads(out.read_text())['num_frames'] == 25
    assert 'last window / second window' in capsys.readouterr().out


def test_config_model_and_bad_arguments(tmp_path):
    cfg = write_tiny_config(tmp_path, memory='pixel')
    report = run_tool([cfg, '--num-frames', 3, '--window', 2, '--size', 48, 64,
                       '--cpu-threads', 1])
    assert [w['frames'] for w in report['windows']] == ['0-1', '2-2']
    assert 'pixel.0.rows_mean' in report['windows'][0]
    with pytest.raises(ValueError, match='--num-frames'):
        run_tool(['--num-frames', 0])
    with pytest.raises(TypeError, match='not a memory detector'):
        run_tool([write_tiny_config(tmp_path, memory=None, name='plain.py'), '--num-frames', 2])
