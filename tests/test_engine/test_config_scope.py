"""`mmvid_memory::` config paths and the registration done by `import mmvid_memory`."""
import os.path as osp

import pytest
from mmengine.config import Config

import mmvid_memory  # noqa: F401


def test_package_config_path_resolves(tmp_path):
    user_cfg = tmp_path / 'my_ogem.py'
    user_cfg.write_text(
        "_base_ = ['mmvid_memory::ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid.py']\n"
        "model = dict(pixel_memory=dict(num_heads=4))\n")
    cfg = Config.fromfile(str(user_cfg))
    assert cfg.model.type == 'MemoryVideoDetector'
    assert cfg.model.pixel_memory.num_heads == 4
    assert cfg.model.instance_memory.num_heads == 7


def test_configs_ship_inside_the_package():
    mim = osp.join(osp.dirname(mmvid_memory.__file__), '.mim')
    for name in ('configs', 'tools', 'demo'):
        assert osp.isdir(osp.join(mim, name)), f'{name} missing from {mim}'
    assert osp.isfile(osp.join(mim, 'configs', 'rfcn', 'rfcn_r18-dc5_1xb4-4e_synthvid.py'))


@pytest.mark.parametrize('name', [
    'RFCN', 'RFCNRoIHead', 'RFCNBBoxHead', 'PSRoIExtractor', 'MemoryVideoDetector',
    'ExternalMemoryAggregator', 'MemNetWarper', 'ClockNetAggregator', 'FlowNetS',
    'VideoDataPreprocessor'])
def test_models_register_into_mmdet(name):
    from mmdet.registry import MODELS
    assert MODELS.get(name) is not None, f'{name} is not in mmdet\'s MODELS'


@pytest.mark.parametrize('registry, name', [
    ('DATASETS', 'ImageNetVIDDataset'), ('DATASETS', 'SynthVIDDataset'),
    ('DATA_SAMPLERS', 'VideoShardSampler'), ('DATA_SAMPLERS', 'VIDDETMixSampler'),
    ('TRANSFORMS', 'VideoClipSample'), ('TRANSFORMS', 'PackVideoFrameInputs'),
    ('METRICS', 'VIDMetric'), ('METRICS', 'FlowEPEMetric'), ('DATASETS', 'SynthVIDFlowDataset'),
    ('TRANSFORMS', 'LoadFlowPair'), ('TRANSFORMS', 'RandomFlowTranslate')])
def test_data_components_register_into_mmdet(registry, name):
    import mmdet.registry
    assert getattr(mmdet.registry, registry).get(name) is not None


def test_every_config_is_in_the_model_index():
    import glob

    import yaml
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    with open(osp.join(root, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    listed = set()
    for meta in index['Import']:
        with open(osp.join(root, meta)) as f:
            listed |= {m['Config'] for m in yaml.safe_load(f)['Models']}
    for family in ('rfcn', 'ogem', 'memnet', 'clocknet', 'fast_strong', 'flownet'):
        for path in glob.glob(osp.join(root, 'configs', family, '*.py')):
            rel = osp.relpath(path, root)
            assert rel in listed, f'{rel} is missing; run python tools/misc/gen_model_index.py'


def test_config_by_name_through_the_model_index():
    from mmengine.hub import get_config
    cfg = get_config('mmvid_memory::rfcn/rfcn_r18-dc5_1xb4-4e_synthvid.py')
    assert cfg.model.type == 'RFCN'


def test_register_all_modules_sets_the_scope_as_mmdet_does():
    from mmengine.registry import DefaultScope

    from mmvid_memory.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    assert DefaultScope.get_current_instance().scope_name == 'mmdet'  # left alone
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'mmvid_memory'
    DefaultScope.get_instance('mmdet-after-register-test', scope_name='mmdet')
    with pytest.warns(UserWarning, match='"mmdet" is not "mmvid_memory"'):
        register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'mmvid_memory'


@pytest.mark.parametrize('registry, cfg', [
    ('MODELS', dict(type='FlowNetS')),
    ('MODELS', dict(type='ResNet', depth=18)),  # mmdet's, through the scope's parent
    ('TASK_UTILS', dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4)),
    ('METRICS', dict(type='VIDMetric')),
])
def test_package_scope_builds_from_mmengine_root_registries(registry, cfg):
    """What `_base_ = ['mmvid_memory::...']` configs hand to the root registries:
    dicts with `_scope_='mmvid_memory'`."""
    import mmengine.registry
    built = getattr(mmengine.registry, registry).build(dict(cfg, _scope_='mmvid_memory'))
    assert type(built).__name__ == cfg['type']
