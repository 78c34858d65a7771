"""The model zoo: metafile results and weights, docs/model_zoo.md generated from them."""
import importlib.util
import os.path as osp
import re
import shutil

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool(name):
    path = osp.join(ROOT, 'tools', 'misc', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_model_zoo = _tool('gen_model_zoo')
gen_model_index = _tool('gen_model_index')


def _model(name):
    for _, content in gen_model_zoo.load_index(ROOT):
        for model in content['Models']:
            if model['Name'] == name:
                return model
    raise KeyError(name)


def test_model_zoo_page_is_generated_from_the_metafiles(capsys):
    assert gen_model_zoo.main(['--check']) == 0, capsys.readouterr().out
    page = gen_model_zoo.render(ROOT)
    row = next(line for line in page.splitlines()
               if line.startswith('| [rfcn_r18-dc5_1xb4-12e_synthvid]'))
    assert '| 50.0 | 51.3 | 50.0 | 50.0 |' in row
    assert 'rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth' in row
    assert '| 0.140 | 0.173 |' in page  # the FlowNetS row


def test_metafiles_are_what_the_index_generator_writes_and_keep_results(tmp_path):
    shutil.copytree(osp.join(ROOT, 'configs'), tmp_path / 'configs')
    shutil.copy(osp.join(ROOT, 'model-index.yml'), tmp_path / 'model-index.yml')
    imports = gen_model_index.write_index(str(tmp_path))
    for rel in imports + ['model-index.yml']:
        with open(osp.join(ROOT, rel)) as f, open(tmp_path / rel) as g:
            assert f.read() == g.read(), f'{rel} is stale: run python tools/misc/gen_model_index.py'
    assert 'Results' in _model('rfcn_r18-dc5_1xb4-12e_synthvid')


def test_published_results_match_the_checkpoint_notes():
    """The metafile numbers are those checkpoints/README.md records for the file."""
    with open(osp.join(ROOT, 'checkpoints', 'README.md')) as f:
        notes = f.read()
    line = next(x for x in notes.splitlines() if 'rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b' in x)
    overall, slow, medium, fast = map(float, re.search(
        r'\| ([\d.]+) \(slow ([\d.]+) / medium ([\d.]+) / fast ([\d.]+)\)', line).groups())
    metrics = _model('rfcn_r18-dc5_1xb4-12e_synthvid')['Results'][0]['Metrics']
    assert (metrics['mAP'], metrics['mAP slow'], metrics['mAP medium'],
            metrics['mAP fast']) == (overall, slow, medium, fast)
    flow = next(x for x in notes.splitlines() if 'flownets-c8_1xb8-6k_synthvid-flow-9d326fc2' in x)
    epe, zero = map(float, re.search(r'error ([\d.]+) feature px.*zero field ([\d.]+)',
                                     flow).groups())
    metrics = _model('flownets-c8_1xb8-6k_synthvid-flow')['Results'][0]['Metrics']
    assert (metrics['EPE'], metrics['EPE zero field']) == (epe, zero)


def test_weights_load_through_mmengine_hub():
    from mmengine.hub import get_config

    import mmvid_memory  # noqa: F401
    from mmvid_memory.utils.checkpoint import load_checkpoint_file
    cfg = get_config('mmvid_memory::rfcn/rfcn_r18-dc5_1xb4-12e_synthvid.py', pretrained=True)
    assert cfg.model_path == 'checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth'
    assert 'state_dict' in load_checkpoint_file(cfg.model_path)


def _tiny_root(tmp_path, model_extra):
    (tmp_path / 'configs' / 'x').mkdir(parents=True)
    (tmp_path / 'configs' / 'x' / 'a.py').write_text('model = dict()\n')
    model = {'Name': 'a', 'In Collection': 'X', 'Config': 'configs/x/a.py', **model_extra}
    (tmp_path / 'configs' / 'x' / 'metafile.yml').write_text(yaml.safe_dump(
        {'Collections': [{'Name': 'X'}], 'Models': [model]}))
    (tmp_path / 'model-index.yml').write_text('Import:\n  - configs/x/metafile.yml\n')
    return str(tmp_path)


@pytest.mark.parametrize('extra, message', [
    ({'Results': [{'Task': 'Video Object Detection', 'Dataset': 'd',
                   'Metrics': {'AP50': 1.0}}]}, "metric 'AP50'; known"),
    ({'Results': [{'Task': 'Tracking', 'Dataset': 'd', 'Metrics': {'mAP': 1.0}}]},
     "Task 'Tracking'"),
    ({'Results': [{'Task': 'Video Object Detection', 'Dataset': 'd',
                   'Metrics': {'mAP': 'high'}}]}, 'mAP must be a number'),
    ({'Weights': 'checkpoints/missing.pth'}, 'Weights checkpoints/missing.pth does not exist'),
    ({'Weigths': 'x'}, "unknown keys \\['Weigths'\\]"),
])
def test_metafile_schema_errors_name_file_model_and_field(tmp_path, extra, message):
    root = _tiny_root(tmp_path, extra)
    with pytest.raises(gen_model_zoo.MetafileError, match=rf'configs/x/metafile.yml: model a: '
                                                          rf'.*{message}'):
        gen_model_zoo.render(root)


def test_a_tiny_zoo_renders_only_the_metrics_it_has(tmp_path):
    (tmp_path / 'checkpoints').mkdir()
    (tmp_path / 'checkpoints' / 'a-00000000.pth').write_bytes(b'x')
    root = _tiny_root(tmp_path, {
        'Results': [{'Task': 'Video Object Detection', 'Dataset': 'SynthVID val',
                     'Metrics': {'mAP': 40.0, 'mAP degraded': 30.25}}],
        'Weights': 'checkpoints/a-00000000.pth', 'Training Command': 'python tools/train.py a'})
    page = gen_model_zoo.render(root)
    assert '| model | data | mAP | degraded | weights |' in page
    assert '| [a](../configs/x/a.py) | SynthVID val | 40.0 | 30.2 |' in page
    assert '  python tools/train.py a' in page
