"""tools/analysis_tools/vis_memory.py on a tiny SynthVID with an untrained tiny OGEM."""
import importlib.util
import json
import os.path as osp

import pytest

from tests.test_apis._tiny_config import write_tiny_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'vis_memory.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('vis_memory_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(tmp_path, tiny_synthvid, tiny_models, *extra):
    # The tiny config's test set is re-pointed at the tiny SynthVID, which names its classes.
    cfg = write_tiny_config(tmp_path, memory='ogem', name='ogem_vis.py', class_names=False)
    return [str(cfg), tiny_models['ogem']['checkpoint'], '--out-dir', str(tmp_path / 'out'),
            '--max-frames', '4', '--dpi', '30', '--cfg-options',
            f'test_dataloader.dataset.data_root={tiny_synthvid}',
            'test_dataloader.dataset.ann_file=annotations/synthvid_val.json', *extra]


def test_vis_memory_writes_figures(tool, tmp_path, tiny_synthvid, tiny_models, capsys):
    args = _args(tmp_path, tiny_synthvid, tiny_models, '--video-index', '1', '--frame', '2',
                 '--query-box', '5', '5', '40', '30')
    assert tool.main(args) == 0
    printed = capsys.readouterr().out
    out = tmp_path / 'out'
    for name in ('provenance_v1_f2.png', 'memory_size_v1.png', 'memory_v1.json'):
        assert (out / name).stat().st_size > 0, name
        assert str(out / name) in printed
    report = json.loads((out / 'memory_v1.json').read_text())
    assert [f['frame_id'] for f in report['frames']] == [0, 1, 2, 3]
    assert report['frame_id'] == 2 and report['provenance']['mode'] == 'query'
    # after frames 0 and 1 the pixel memory holds rows, and the figure says how many
    rows = report['frames'][2]['memory_stats']['pixel.0.rows']
    assert rows > 0 and f'read {int(report["provenance"]["memory_rows"])} rows' in printed


def test_vis_memory_bad_input(tool, tmp_path, tiny_synthvid, tiny_models):
    with pytest.raises(IndexError, match='frame 9 outside video 0'):
        tool.main(_args(tmp_path, tiny_synthvid, tiny_models, '--frame', '9'))
    with pytest.raises(KeyError, match="memory point 'pixel.3'"):
        tool.main(_args(tmp_path, tiny_synthvid, tiny_models, '--frame', '1', '--point',
                        'pixel.3'))
    missing = _args(tmp_path, tiny_synthvid, tiny_models, '--frame', '1')
    missing[1] = str(tmp_path / 'gone.pth')
    with pytest.raises(FileNotFoundError, match="checkpoint '.*gone.pth' does not exist"):
        tool.main(missing)
