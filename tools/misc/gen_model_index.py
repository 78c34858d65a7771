"""Write configs/<family>/metafile.yml and model-index.yml from the config files.

mmengine reads ``.mim/model-index.yml`` to resolve ``mmvid_memory::NAME``
config paths (and ``mim`` lists models from it). Run after adding a config::

    python tools/misc/gen_model_index.py
"""
import glob
import os.path as osp

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


def metafile_text(family: str, collection: str, paper: str) -> str:
    lines = ['Collections:', f'  - Name: {collection}', '    Paper:', f'      Title: "{paper}"', '',
             'Models:']
    for path in sorted(glob.glob(osp.join(ROOT, 'configs', family, '*.py'))):
        name = osp.splitext(osp.basename(path))[0]
        data = ('SynthVID-Flow' if 'synthvid-flow' in name else
                'SynthVID' if 'synthvid' in name else 'ImageNet VID + DET')
        lines += [f'  - Name: {name}', f'    In Collection: {collection}',
                  f'    Config: configs/{family}/{name}.py', '    Metadata:',
                  f'      Training Data: {data}']
    return '\n'.join(lines) + '\n'


def main() -> None:
    imports = []
    for family, (collection, paper) in FAMILIES.items():
        if not glob.glob(osp.join(ROOT, 'configs', family, '*.py')):
            continue
        with open(osp.join(ROOT, 'configs', family, 'metafile.yml'), 'w') as f:
            f.write(metafile_text(family, collection, paper))
        imports.append(f'  - configs/{family}/metafile.yml')
    with open(osp.join(ROOT, 'model-index.yml'), 'w') as f:
        f.write('Import:\n' + '\n'.join(imports) + '\n')
    print(f'wrote model-index.yml with {len(imports)} metafiles')


if __name__ == '__main__':
    main()
