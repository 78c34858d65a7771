"""SynthVID-Flow: frame pairs of SynthVID videos with their exact displacement fields.

Seed 003 fine-tunes a FlowNet pre-trained on Flying Chairs (synthetic pairs
with ground-truth flow). No FlowNet weights can be downloaded here, so this
set plays that part: pairs ``(I_t, I_s)`` of SynthVID videos, ``t - s`` in
``gaps`` (ClockNet's stride-8 memory and propagation over 8 frames need fields
across up to 8 frames), and the backward field ``D_{t,s}`` from
:func:`.flow.frame_flow`.

The videos are those of SynthVID's own splits (same seeds and knobs), so the
frames are the detection set's frames: train pairs come from training videos
and val pairs from validation videos.

Layout of a generated folder ``<out>``::

    <out>/Data/{train,val}/synthvid_{split}_NNNN/NNNNNN.JPEG      frames used by a pair
    <out>/Flow/{train,val}/synthvid_{split}_NNNN/TTTTTT_SSSSSS.npy  D_{t,s}, float16
    <out>/annotations/synthvid_flow_{train,val}.json               the pairs
    <out>/synthvid_flow_params.json                                parameters, hash

A field is stored at ``flow_stride`` (default 4: 40 x 40 for 160 px frames,
area-averaged), in **image pixels**, channel 0 along x.
"""
import hashlib
import json
import os
import os.path as osp
import re
import time
from typing import Any, Dict, List, Optional, Sequence

import cv2
import numpy as np

from ..converters.cocovid import write_json_atomic
from .flow import frame_flow
from .generator import (_SPLIT_CODES, SPLITS, _default_workers, _run_jobs, _video_config,
                        ensure_generated, folder_lock, read_summary, resolve_params,
                        with_defaults)
from .video import render_scene_frame, sample_scene

FLOW_PARAMS_FILE = 'synthvid_flow_params.json'
#: Everything :func:`generate_synthvid_flow` writes (see ``ensure_generated``).
FLOW_GENERATED_FILES = re.compile(
    r'^(synthvid_flow_params\.json'
    r'|annotations/synthvid_flow_(train|val)\.json'
    r'|Data/(train|val)/synthvid_(train|val)_\d+/\d+\.JPEG'
    r'|Flow/(train|val)/synthvid_(train|val)_\d+/\d+_\d+\.npy'
    r'|(.*/)?\.[^/]+\.tmp[^/]*)$')
#: Bump when a code change alters the generated pairs.
FLOW_GENERATOR_VERSION = 1
#: ``train_videos``/``val_videos``: the first videos of each SynthVID split;
#: ``pairs_per_gap``: pairs per video and gap; the rest are SynthVID's knobs.
DEFAULT_FLOW_PARAMS: Dict[str, Any] = dict(
    train_videos=200, val_videos=20, gaps=(1, 2, 3, 4, 5, 6, 7, 8), pairs_per_gap=2,
    flow_stride=4, synthvid=dict())


def resolve_flow_params(**overrides: Any) -> Dict[str, Any]:
    """Defaults updated with ``overrides``, checked.

    Raises:
        TypeError: An unknown parameter name.
        ValueError: A value out of range (the message names it).
    """
    p = with_defaults(overrides, DEFAULT_FLOW_PARAMS, 'SynthVID-Flow')
    for key in ('train_videos', 'val_videos', 'pairs_per_gap', 'flow_stride'):
        if isinstance(p[key], bool) or int(p[key]) != p[key] or int(p[key]) < 0:
            raise ValueError(f'SynthVID-Flow parameter {key}={p[key]!r} must be an integer >= 0')
        p[key] = int(p[key])
    if p['flow_stride'] < 1:
        raise ValueError(f"SynthVID-Flow parameter flow_stride={p['flow_stride']} must be >= 1")
    gaps = p['gaps']
    if (not isinstance(gaps, (list, tuple)) or not gaps or
            any(isinstance(g, bool) or int(g) != g or int(g) < 1 for g in gaps)):
        raise ValueError(f'SynthVID-Flow parameter gaps={gaps!r} must be a non-empty list of '
                         'integers >= 1 (frames between the two images of a pair)')
    p['gaps'] = sorted({int(g) for g in gaps})
    p['synthvid'] = resolve_params(**dict(p['synthvid'] or {}))
    if p['synthvid']['size'] % p['flow_stride']:
        raise ValueError(f"SynthVID-Flow parameter flow_stride={p['flow_stride']} must divide "
                         f"the frame size {p['synthvid']['size']}")
    return p


def flow_params_hash(params: Dict[str, Any]) -> str:
    """Hash of the resolved parameters and :data:`FLOW_GENERATOR_VERSION`."""
    text = json.dumps(dict(params, generator_version=FLOW_GENERATOR_VERSION), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def choose_pairs(num_frames: int, gaps: Sequence[int], pairs_per_gap: int,
                 rng: np.random.Generator) -> List[tuple]:
    """``(t, s)`` frame pairs of one video, ``t - s`` in ``gaps``.

    Returns:
        Distinct pairs, sorted by t; gaps longer than the video are skipped.
    """
    pairs = set()
    for gap in gaps:
        if gap >= num_frames:
            continue
        count = min(pairs_per_gap, num_frames - gap)
        for t in rng.choice(np.arange(gap, num_frames), size=count, replace=False):
            pairs.add((int(t), int(t) - gap))
    return sorted(pairs)


def _pool_flow(flow: np.ndarray, stride: int) -> np.ndarray:
    if stride == 1:
        return flow
    size = flow.shape[0] // stride
    return cv2.resize(flow, (size, size), interpolation=cv2.INTER_AREA)


def make_video_pairs(args: tuple) -> List[Dict[str, Any]]:
    """Render one video's frames and write its pairs (a worker job).

    Args:
        args: ``(split, index, params, out_dir)``.

    Returns:
        The pair records of the video (paths relative to ``out_dir``).
    """
    split, index, params, out_dir = args
    sv = params['synthvid']
    cfg = _video_config(sv)
    scene = sample_scene(sv['seed'], _SPLIT_CODES[split], index, cfg)
    rng = np.random.default_rng(np.random.SeedSequence([sv['seed'], _SPLIT_CODES[split], index,
                                                        0xF10]))
    pairs = choose_pairs(scene.num_frames, params['gaps'], params['pairs_per_gap'], rng)
    needed = {f for pair in pairs for f in pair}
    name = f'synthvid_{split}_{index:04d}'
    img_dir = osp.join(out_dir, 'Data', split, name)
    flow_dir = osp.join(out_dir, 'Flow', split, name)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(flow_dir, exist_ok=True)
    # Frames are rendered in order: each draws from the video's generator
    # (sensor noise), so they equal SynthVID's frames of this video.
    for t in range(max(needed) + 1 if needed else 0):
        image, _ = render_scene_frame(scene, t)
        if t in needed:
            path = osp.join(img_dir, f'{t:06d}.JPEG')
            if not cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, sv['jpeg_quality']]):
                raise OSError(f'could not write {path}')
    records = []
    for t, s in pairs:
        field = _pool_flow(frame_flow(scene, t, s), params['flow_stride'])
        rel = osp.join('Flow', split, name, f'{t:06d}_{s:06d}.npy')
        np.save(osp.join(out_dir, rel), field.astype(np.float16))
        records.append(dict(video=name, frame_cur=t, frame_ref=s, gap=t - s,
                            img_cur=osp.join('Data', split, name, f'{t:06d}.JPEG'),
                            img_ref=osp.join('Data', split, name, f'{s:06d}.JPEG'), flow=rel))
    return records


def generate_synthvid_flow(out_dir: str, workers: Optional[int] = None, progress: bool = True,
                           **params: Any) -> Dict[str, Any]:
    """Generate SynthVID-Flow into ``out_dir`` (absent or empty).

    Args:
        out_dir: Output folder.
        workers: Processes rendering videos (the output does not depend on it).
        progress: Show progress bars.
        **params: See :data:`DEFAULT_FLOW_PARAMS`.

    Returns:
        The content of ``synthvid_flow_params.json``.
    """
    p = resolve_flow_params(**params)
    if osp.isdir(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f'{out_dir} is not empty')
    start = time.time()
    workers = _default_workers() if workers is None else max(1, int(workers))
    summary: Dict[str, Any] = dict(params=p, params_hash=flow_params_hash(p),
                                   generator_version=FLOW_GENERATOR_VERSION, stats={})
    for split in SPLITS:
        jobs = [(split, i, p, out_dir) for i in range(p[f'{split}_videos'])]
        records = [r for video in _run_jobs(jobs, workers, f'SynthVID-Flow {split}', progress,
                                            job=make_video_pairs) for r in video]
        write_json_atomic(dict(pairs=records, flow_stride=p['flow_stride']),
                          osp.join(out_dir, 'annotations', f'synthvid_flow_{split}.json'))
        summary['stats'][split] = dict(pairs=len(records), videos=len(jobs))
    summary['seconds'] = round(time.time() - start, 2)
    write_json_atomic(summary, osp.join(out_dir, FLOW_PARAMS_FILE), indent=2)
    return summary


def read_synthvid_flow_summary(root: str) -> Optional[Dict[str, Any]]:
    """The summary of a complete SynthVID-Flow folder, else ``None``."""
    return read_summary(root, FLOW_PARAMS_FILE, 'synthvid_flow_{split}.json')


def ensure_synthvid_flow(root: str, force: bool = False, workers: Optional[int] = None,
                         progress: bool = True, **params: Any) -> Dict[str, Any]:
    """Return SynthVID-Flow at ``root``, generating it when missing or stale
    (same contract as :func:`.generator.ensure_synthvid`)."""
    wanted = resolve_flow_params(**params)
    root = osp.abspath(root)
    with folder_lock(root):
        return ensure_generated(
            root, read_synthvid_flow_summary(root), flow_params_hash(wanted),
            lambda tmp: generate_synthvid_flow(tmp, workers=workers, progress=progress,
                                               **wanted),
            force=force, params_file=FLOW_PARAMS_FILE, ann_glob='synthvid_flow_*.json',
            what='SynthVID-Flow', generated=FLOW_GENERATED_FILES)
