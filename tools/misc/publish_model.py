"""Turn a training checkpoint into a shippable one.

Keeps the weights and the meta (config, dataset classes, epoch/iteration) and
drops what only resuming needs (optimizer, schedulers, message hub), then
names the file ``<stem>-<first 8 hex digits of its sha256>.pth`` as
OpenMMLab's model zoo does, so that a reader can tell a corrupted copy
(``mmvid_memory.utils.published.verify_published``). With ``--synthvid-root``
the parameters hash of the SynthVID set it was trained on, and the hash of
its training split alone, are recorded in the meta, so that a user of the
checkpoint can tell whether their generated data is the same.

    python tools/misc/publish_model.py work_dirs/x/epoch_12.pth checkpoints/x.pth \\
        --synthvid-root data/synthvid
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional

import torch

from mmvid_memory.utils.atomic import publish_temp, remove_stale_temps, temp_path_for
from mmvid_memory.utils.published import sha256_of

#: Top-level checkpoint keys a published checkpoint keeps.
KEPT_KEYS = ('meta', 'state_dict')


def publish_checkpoint(in_file: str, out_file: str, synthvid_root: Optional[str] = None) -> str:
    """Write the weights-only checkpoint of ``in_file``; return its final path.

    Args:
        in_file: A checkpoint saved by the MMEngine runner.
        out_file: Where to write; ``.pth`` is required, and the name gets the
            hash suffix (``x.pth`` -> ``x-1a2b3c4d.pth``).
        synthvid_root: A generated SynthVID folder whose parameters hash is
            recorded as ``meta['synthvid_params_hash']`` and the hash of its
            training split as ``meta['synthvid_train_hash']``.

    Raises:
        FileNotFoundError: ``in_file`` (or the SynthVID summary) is missing.
        ValueError: ``out_file`` is not a ``.pth`` path, or ``in_file`` holds
            no ``state_dict``.
    """
    if not osp.isfile(in_file):
        raise FileNotFoundError(f'checkpoint to publish not found: {in_file}')
    if not out_file.endswith('.pth'):
        raise ValueError(f'out_file must end with .pth, got {out_file!r}')
    from mmvid_memory.utils.checkpoint import load_checkpoint_file
    checkpoint = load_checkpoint_file(in_file, map_location='cpu')
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{in_file} holds no state_dict; is it a runner checkpoint?')
    published = {key: checkpoint[key] for key in KEPT_KEYS if key in checkpoint}
    published.setdefault('meta', {})
    if synthvid_root is not None:
        from mmvid_memory.datasets.synthvid import read_synthvid_summary
        summary = read_synthvid_summary(synthvid_root)
        if summary is None:
            raise FileNotFoundError(f'no complete SynthVID set at {synthvid_root} '
                                    '(synthvid_params.json and the annotation files)')
        published['meta']['synthvid_params_hash'] = summary['params_hash']
        published['meta']['synthvid_train_hash'] = summary['train_hash']
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    remove_stale_temps(out_file)
    tmp = temp_path_for(out_file)
    try:  # written aside and renamed: an existing file is never half-overwritten
        torch.save(published, tmp)
        final = f'{out_file[:-len(".pth")]}-{sha256_of(tmp)[:8]}.pth'
        publish_temp(tmp, final)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('in_file', help='runner checkpoint')
    parser.add_argument('out_file', help='output path (.pth); the hash suffix is added')
    parser.add_argument('--synthvid-root', help='record this SynthVID set\'s parameters hash')
    args = parser.parse_args()
    try:
        final = publish_checkpoint(args.in_file, args.out_file, args.synthvid_root)
    except (OSError, ValueError) as err:  # CheckpointError is a ValueError
        sys.exit(f'publish_model: {err}')
    print(f'wrote {final} ({osp.getsize(final) / 2**20:.1f} MiB)')


if __name__ == '__main__':
    main()
