"""Write configs/<family>/metafile.yml and model-index.yml from the config files.

mmengine reads ``.mim/model-index.yml`` to resolve ``mmvid_memory::NAME``
config paths (and ``mim`` lists models from it). Run after adding a config::

    python tools/misc/gen_model_index.py

Name, collection, config path and training data are derived from the config
files; what a person adds to a model's entry (``Results``, ``Weights``,
``Training Command``, ``Training Log``, more ``Metadata``) is kept. The
schema of those fields: ``tools/misc/gen_model_zoo.py``, which writes
``docs/model_zoo.md`` from the metafiles.
"""
import argparse
import glob
import os.path as osp
from typing import Dict, List, Optional

import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAMILIES = {
    'rfcn': ('R-FCN', 'R-FCN: Object Detection via Region-based Fully Convolutional Networks'),
    'ogem': ('OGEM', 'Object Guided External Memory Network for Video Object Detection'),
    'memnet': ('MemNet', 'Memory Warps for Learning Long-Term Online Video Representations'),
    'clocknet': ('ClockNet', 'Memory Warps for Learning Long-Term Online Video Representations'),
    'fast_strong': ('Fast+Strong',
                    'Memory Warps for Learning Long-Term Online Video Representations'),
    'flownet': ('FlowNetS', 'FlowNet: Learning Optical Flow with Convolutional Networks'),
}
#: Key order of a model entry; keys a person added that are not listed keep
#: their place after these.
MODEL_KEYS = ('Name', 'In Collection', 'Config', 'Metadata', 'Results', 'Weights',
              'Training Command', 'Training Log')


def training_data(name: str) -> str:
    return ('SynthVID-Flow' if 'synthvid-flow' in name else
            'SynthVID' if 'synthvid' in name else 'ImageNet VID + DET')


def read_models(path: str) -> Dict[str, dict]:
    """The model entries of an existing metafile, by name ({} when there is none)."""
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        content = yaml.safe_load(f) or {}
    models = content.get('Models') or []
    return {m['Name']: m for m in models}


def model_entry(family: str, collection: str, name: str, kept: Optional[dict]) -> dict:
    """A model's entry: the derived fields over what the old entry held."""
    kept = dict(kept or {})
    metadata = dict(kept.get('Metadata') or {})
    metadata['Training Data'] = training_data(name)
    derived = {'Name': name, 'In Collection': collection,
               'Config': f'configs/{family}/{name}.py', 'Metadata': metadata}
    entry = {}
    for key in MODEL_KEYS:
        if key in derived:
            entry[key] = derived[key]
        elif key in kept:
            entry[key] = kept[key]
    for key, value in kept.items():
        entry.setdefault(key, value)
    return entry


def metafile_content(root: str, family: str, collection: str, paper: str) -> dict:
    path = osp.join(root, 'configs', family, 'metafile.yml')
    kept = read_models(path)
    models: List[dict] = []
    for config in sorted(glob.glob(osp.join(root, 'configs', family, '*.py'))):
        name = osp.splitext(osp.basename(config))[0]
        models.append(model_entry(family, collection, name, kept.get(name)))
    return {'Collections': [{'Name': collection, 'Paper': {'Title': paper}}], 'Models': models}


class _MetafileDumper(yaml.SafeDumper):
    """OpenMMLab's metafile layout: list items indented under their key,
    multi-line strings (training commands) as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, value: str):
    style = '|' if '\n' in value else None
    return dumper.represent_scalar('tag:yaml.org,2002:str', value, style=style)


_MetafileDumper.add_representer(str, _str_representer)


def dump(content: dict) -> str:
    return yaml.dump(content, Dumper=_MetafileDumper, sort_keys=False, allow_unicode=True,
                     width=100)


def write_index(root: str = ROOT) -> List[str]:
    """Write every family's metafile and model-index.yml; returns the metafiles."""
    imports = []
    for family, (collection, paper) in FAMILIES.items():
        if not glob.glob(osp.join(root, 'configs', family, '*.py')):
            continue
        text = dump(metafile_content(root, family, collection, paper))
        with open(osp.join(root, 'configs', family, 'metafile.yml'), 'w') as f:
            f.write(text)
        imports.append(f'configs/{family}/metafile.yml')
    with open(osp.join(root, 'model-index.yml'), 'w') as f:
        f.write(dump({'Import': imports}))
    return imports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default=ROOT, help='the source tree (default: this one)')
    args = parser.parse_args()
    imports = write_index(args.root)
    print(f'wrote model-index.yml with {len(imports)} metafiles')


if __name__ == '__main__':
    main()
