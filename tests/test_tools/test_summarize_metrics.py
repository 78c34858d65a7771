"""tools/analysis_tools/summarize_metrics.py: mean and spread of replicate runs."""
import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
from summarize_metrics import format_rows, summarize  # noqa: E402


def _write(path, m, s, me, f):
    path.write_text(json.dumps({'vid/mAP': m, 'vid/mAP_slow': s, 'vid/mAP_medium': me,
                                'vid/mAP_fast': f}))
    return str(path)


def test_mean_and_sample_std(tmp_path):
    files = [_write(tmp_path / 'a.json', 0.50, 0.6, 0.5, 0.4),
             _write(tmp_path / 'b.json', 0.52, 0.6, 0.5, 0.5)]
    out = summarize(files)
    assert out['mAP']['mean'] == pytest.approx(51.0)
    assert out['mAP']['std'] == pytest.approx(2 ** 0.5)  # sample std of 50 and 52
    assert out['fast']['values'] == pytest.approx([40.0, 50.0])
    assert summarize(files[:1])['mAP']['std'] == 0.0
    table = format_rows([('x', out)])
    assert '| x | 2 | 51.0 ± 1.4 |' in table and '50.0 / 52.0' in table


def test_errors_and_cli(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'vid/mAP': 0.5}))
    with pytest.raises(ValueError, match=r"bad.json lacks \['vid/mAP_slow'"):
        summarize([str(bad)])
    with pytest.raises(ValueError, match='no metrics files'):
        summarize([])
    good = _write(tmp_path / 'g.json', 0.4, 0.5, 0.4, 0.3)
    out = tmp_path / 'o.json'
    proc = subprocess.run([sys.executable, 'tools/analysis_tools/summarize_metrics.py', '--row',
                           'model A', good, '--out', str(out)], cwd=ROOT, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.returncode == 0, proc.stdout
    assert '| model A | 1 | 40.0 ± 0.0 |' in proc.stdout
    assert json.loads(out.read_text())['model A']['slow']['mean'] == pytest.approx(50.0)


def test_frame_groups_become_columns(tmp_path):
    files = []
    for i, (deg, clean) in enumerate([(0.3, 0.6), (0.4, 0.6)]):
        path = tmp_path / f'{i}.json'
        path.write_text(json.dumps({'vid/mAP': 0.5, 'vid/mAP_slow': 0.6, 'vid/mAP_medium': 0.5,
                                    'vid/mAP_fast': 0.4, 'vid/mAP_clean': clean,
                                    'vid/mAP_degraded': deg, 'vid/frames_clean': 10}))
        files.append(str(path))
    out = summarize(files)
    assert list(out) == ['mAP', 'slow', 'medium', 'fast', 'degraded', 'clean']
    assert out['degraded']['mean'] == pytest.approx(35.0)
    table = format_rows([('x', out), ('y', summarize([_write(tmp_path / 'z.json', .5, .5, .5, .5)]))])
    assert '| model | n | mAP | slow | medium | fast | runs (mAP) |' in table  # only common columns
    assert '| degraded | clean |' in format_rows([('x', out)])
