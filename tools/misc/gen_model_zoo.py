"""Write docs/model_zoo.md from the metafiles (configs/*/metafile.yml).

The metafiles (written by ``tools/misc/gen_model_index.py``, which keeps what
is added by hand) follow OpenMMLab's schema; a model's entry may carry::

    Results:                      # one entry per task and data set
      - Task: Video Object Detection | Optical Flow
        Dataset: SynthVID val
        Metrics: {mAP: 50.0, mAP slow: 51.3, ...}   # see METRICS below
    Weights: checkpoints/<name>-<8 hex>.pth        # a shipped checkpoint (or a URL)
    Training Command: |                            # the commands that made the weights
      python tools/train.py ...
    Training Log: <path or URL>

Run after changing a metafile (``--check`` only reports whether the page is
current, for tests and CI)::

    python tools/misc/gen_model_zoo.py [--check]
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Mapping, Sequence, Tuple

import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OUT = osp.join('docs', 'model_zoo.md')
MODEL_KEYS = ('Name', 'In Collection', 'Config', 'Metadata', 'Results', 'Weights',
              'Training Command', 'Training Log')
#: Task -> (metric names in table order, their column headers, unit note).
METRICS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...], str]] = {
    'Video Object Detection': (
        ('mAP', 'mAP slow', 'mAP medium', 'mAP fast', 'mAP degraded', 'mAP clean'),
        ('mAP', 'slow', 'medium', 'fast', 'degraded', 'clean'),
        'VID mAP in %, ILSVRC rules; slow / medium / fast are FGFA\'s motion-IoU splits, '
        'degraded / clean SynthVID\'s frame groups'),
    'Optical Flow': (
        ('EPE', 'EPE zero field'),
        ('EPE', 'zero field EPE'),
        'end-point error in feature pixels (lower is better); the zero field for reference'),
}


class MetafileError(ValueError):
    """A metafile entry that does not follow the schema; names file and model."""


def load_index(root: str) -> List[Tuple[str, dict]]:
    """(metafile path, content) of every metafile model-index.yml imports."""
    with open(osp.join(root, 'model-index.yml')) as f:
        index = yaml.safe_load(f) or {}
    out = []
    for rel in index.get('Import') or []:
        path = osp.join(root, rel)
        if not osp.isfile(path):
            raise MetafileError(f'model-index.yml imports {rel}, which does not exist')
        with open(path) as f:
            out.append((rel, yaml.safe_load(f) or {}))
    return out


def _is_url(text: str) -> bool:
    return text.startswith(('http://', 'https://'))


def check_model(root: str, where: str, model: Mapping) -> None:
    """Raise :class:`MetafileError` for an entry outside the schema."""
    name = model.get('Name', '<no Name>')
    at = f'{where}: model {name}'
    unknown = [k for k in model if k not in MODEL_KEYS]
    if unknown:
        raise MetafileError(f'{at}: unknown keys {unknown}; known: {list(MODEL_KEYS)}')
    for key in ('Name', 'In Collection', 'Config'):
        if not isinstance(model.get(key), str):
            raise MetafileError(f'{at}: {key} must be a string')
    if not osp.isfile(osp.join(root, model['Config'])):
        raise MetafileError(f'{at}: Config {model["Config"]} does not exist')
    for result in model.get('Results') or []:
        task = result.get('Task')
        if task not in METRICS:
            raise MetafileError(f'{at}: Results Task {task!r}; known: {list(METRICS)}')
        if not isinstance(result.get('Dataset'), str):
            raise MetafileError(f'{at}: a {task} result needs a Dataset')
        metrics = result.get('Metrics') or {}
        if not metrics:
            raise MetafileError(f'{at}: a {task} result without Metrics')
        known = METRICS[task][0]
        for metric, value in metrics.items():
            if metric not in known:
                raise MetafileError(f'{at}: {task} metric {metric!r}; known: {list(known)}')
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise MetafileError(f'{at}: {metric} must be a number, got {value!r}')
    weights = model.get('Weights')
    if weights is not None:
        if not isinstance(weights, str):
            raise MetafileError(f'{at}: Weights must be a path or URL')
        if not _is_url(weights) and not osp.isfile(osp.join(root, weights)):
            raise MetafileError(f'{at}: Weights {weights} does not exist')
    for key in ('Training Command', 'Training Log'):
        if key in model and not isinstance(model[key], str):
            raise MetafileError(f'{at}: {key} must be a string')


def _cell(value) -> str:
    if value is None:
        return '-'
    return f'{value:.1f}' if abs(value) >= 1 else f'{value:.3f}'


def _weights_link(weights: str) -> str:
    if _is_url(weights):
        return f'[model]({weights})'
    return f'[{osp.basename(weights)}](../{weights})'


def _results_table(task: str, rows: Sequence[Tuple[dict, dict]]) -> List[str]:
    names, headers, note = METRICS[task]
    used = [i for i, n in enumerate(names) if any(n in r['Metrics'] for _, r in rows)]
    lines = [f'*{task}* ({note}):', '',
             '| model | data | ' + ' | '.join(headers[i] for i in used) + ' | weights |',
             '| --- | --- | ' + ' | '.join('---' for _ in used) + ' | --- |']
    for model, result in rows:
        cells = [_cell(result['Metrics'].get(names[i])) for i in used]
        weights = _weights_link(model['Weights']) if model.get('Weights') else '-'
        lines.append(f'| [{model["Name"]}](../{model["Config"]}) | {result["Dataset"]} | '
                     + ' | '.join(cells) + f' | {weights} |')
    return lines + ['']


def render(root: str = ROOT) -> str:
    """The model zoo page for the metafiles under ``root``."""
    lines = ['# Model zoo', '',
             'Generated by `tools/misc/gen_model_zoo.py` from the metafiles '
             '(`configs/*/metafile.yml`); edit those, not this page. Weights under '
             '`checkpoints/` ship with the package (an installed package finds them inside '
             'itself, see `mmvid_memory.utils.published.resolve_shipped_checkpoint`). Results '
             'are this project\'s own runs; the papers\' ImageNet VID numbers are quoted in the '
             'README.', '']
    for where, content in load_index(root):
        collections = content.get('Collections') or []
        models = content.get('Models') or []
        for model in models:
            check_model(root, where, model)
        for collection in collections:
            name = collection['Name']
            members = [m for m in models if m['In Collection'] == name]
            lines += [f'## {name}', '']
            title = (collection.get('Paper') or {}).get('Title')
            if title:
                lines += [f'Paper: *{title}*', '']
            by_task: Dict[str, List[Tuple[dict, dict]]] = {}
            for model in members:
                for result in model.get('Results') or []:
                    by_task.setdefault(result['Task'], []).append((model, result))
            for task in METRICS:
                if task in by_task:
                    lines += _results_table(task, by_task[task])
            shown = {m['Name'] for rows in by_task.values() for m, _ in rows}
            commands = [m for m in members if m['Name'] in shown and m.get('Training Command')]
            if commands:
                lines += ['Training commands:', '']
                for model in commands:
                    lines += [f'- `{model["Name"]}`:', '', '  ```shell']
                    lines += [f'  {c}' for c in model['Training Command'].strip().splitlines()]
                    lines += ['  ```', '']
            rest = [m for m in members if m['Name'] not in shown]
            if rest:
                lines += ['Configs without published results yet: '
                          + ', '.join(f'[{m["Name"]}](../{m["Config"]})' for m in rest) + '.',
                          '']
    return '\n'.join(lines).rstrip('\n') + '\n'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default=ROOT, help='the source tree (default: this one)')
    parser.add_argument('--check', action='store_true',
                        help='only report whether the page is current (exit 1 when not)')
    args = parser.parse_args(argv)
    text = render(args.root)
    path = osp.join(args.root, OUT)
    if args.check:
        current = open(path).read() if osp.isfile(path) else None
        if current != text:
            print(f'{OUT} is out of date: run python tools/misc/gen_model_zoo.py')
            return 1
        print(f'{OUT} is current')
        return 0
    with open(path, 'w') as f:
        f.write(text)
    print(f'wrote {OUT}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
