"""tools/analysis_tools/analyze_logs.py on MMEngine json logs of a memory run."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'analyze_logs.py')
    spec = importlib.util.spec_from_file_location('analyze_logs', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log(path, losses, maps, every=25):
    """Lines as the runner writes them: training steps, then a validation line."""
    with open(path, 'w') as f:
        for i, loss in enumerate(losses, 1):
            f.write(json.dumps(dict(lr=1e-3, data_time=0.01, loss=loss, loss_cls=loss / 2,
                                    time=0.5 + 0.1 * (i == 1), iter=i * every, memory=0,
                                    step=i * every)) + '\n')
            if i * every in maps:
                f.write(json.dumps({'vid/mAP': maps[i * every], 'vid/mAP_fast': 0.1,
                                    'data_time': 0.01, 'time': 0.2, 'step': i * every}) + '\n')
    return str(path)


def test_curves_of_loss_and_map_from_two_runs(tmp_path, capsys):
    tool = _tool()
    a = _log(tmp_path / 'a.json', [2.0, 1.5, 1.0, 0.8], {50: 0.30, 100: 0.42})
    b = _log(tmp_path / 'b.json', [2.1, 1.7, 1.3, 1.1], {100: 0.35})
    out = str(tmp_path / 'curves.png')
    plotted = tool.plot_curve([a, b], ['loss', 'vid/mAP'], ['ogem', 'nomem'], out=out)
    assert osp.getsize(out) > 1000
    steps, values = plotted['loss']['ogem']
    np.testing.assert_allclose(steps, [25, 50, 75, 100])
    np.testing.assert_allclose(values, [2.0, 1.5, 1.0, 0.8])
    steps, values = plotted['vid/mAP']['nomem']
    assert steps.tolist() == [100] and values.tolist() == [0.35]
    assert tool.main(['plot_curve', a, '--keys', 'vid/mAP_fast', '--out', out]) == 0
    assert 'saved' in capsys.readouterr().out


def test_unknown_key_lists_the_logged_ones_and_bad_lines_are_named(tmp_path):
    tool = _tool()
    a = _log(tmp_path / 'a.json', [2.0, 1.0], {})
    with pytest.raises(KeyError, match=r"no log line has 'vid/mAP'.*'loss_cls'"):
        tool.plot_curve([a], ['vid/mAP'], out=str(tmp_path / 'x.png'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1, "step": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r'bad.json:2: not a JSON line'):
        tool.load_json_log(str(bad))
    with pytest.raises(ValueError, match='2 legend names for 1 logs'):
        tool.plot_curve([a], ['loss'], ['x', 'y'], out=str(tmp_path / 'x.png'))


def test_train_time_skips_the_first_step(tmp_path, capsys):
    tool = _tool()
    a = _log(tmp_path / 'a.json', [2.0, 1.5, 1.0], {50: 0.3})  # the val line's time is not counted
    result = tool.cal_train_time([a])[a]
    assert result['mean'] == pytest.approx(0.5) and result['slowest'] == pytest.approx(0.5)
    assert tool.cal_train_time([a], include_outliers=True)[a]['slowest'] == pytest.approx(0.6)
    assert 's/iter' in capsys.readouterr().out
