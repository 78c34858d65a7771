"""SynthVID: generate the data set, or reuse it while its parameters are unchanged.

Layout of a generated folder ``<out>``::

    <out>/Data/VID/{train,val}/synthvid_{split}_NNNN/NNNNNN.JPEG
    <out>/annotations/synthvid_{train,val}.json              CocoVID (docs/data_formats.md)
    <out>/annotations/synthvid_{train,val}_conditions.json   per-frame degradations (analysis)
    <out>/synthvid_params.json                               parameters, hash, statistics

``file_name`` in the JSON is relative to ``<out>/Data``, like the ImageNet VID
conversion. Every video draws from its own generator seeded by
``(seed, split, video index)``, so the output does not depend on the number of
worker processes.
"""
import contextlib
import fcntl
import glob
import hashlib
import json
import multiprocessing
import os
import os.path as osp
import re
import shutil
import time
import warnings
from collections import Counter
from typing import Any, Callable, Dict, Iterator, List, Optional

from tqdm import tqdm

from ..converters.cocovid import CocoVIDBuilder, write_json_atomic
from .classes import SYNTHVID_CLASS_NAMES, synthvid_categories
from .stats import motion_bin_fractions
from .video import VideoConfig, VideoResult, make_video

#: Bump when a code change alters the generated data, so cached sets regenerate.
GENERATOR_VERSION = 2
PARAMS_FILE = 'synthvid_params.json'
SPLITS = ('train', 'val')
_SPLIT_CODES = {'train': 0, 'val': 1}

#: Default knobs. 400 training videos: with 80, a detector trained from scratch
#: learned each object's colours rather than its class (94 mAP on train, 10 on
#: val). 80 val videos (~2500 frames, ~5000 boxes on ~240 tracks): on 20 the
#: mAP of one model moved by about 2 points with the draw of videos, as much as
#: the effects a memory is meant to show; an evaluation takes about two minutes
#: on 2 cores.
DEFAULT_PARAMS: Dict[str, Any] = dict(
    train_videos=400,
    val_videos=80,
    frames=36,
    size=160,
    seed=0,
    frame_jitter=0.25,
    min_objects=1,
    max_objects=3,
    max_distractors=3,
    degradation=1.0,
    jpeg_quality=90,
)


def with_defaults(overrides: Dict[str, Any], defaults: Dict[str, Any],
                  what: str) -> Dict[str, Any]:
    """``defaults`` updated with ``overrides``; an unknown name is a TypeError
    that names ``what`` and the known names."""
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise TypeError(f'unknown {what} parameter(s) {unknown}; known: {sorted(defaults)}')
    return {**defaults, **overrides}


def resolve_params(**overrides: Any) -> Dict[str, Any]:
    """Defaults updated with ``overrides``, checked.

    Raises:
        TypeError: An unknown parameter name.
        ValueError: A value out of range (the message names it).
    """
    p = with_defaults(overrides, DEFAULT_PARAMS, 'SynthVID')
    ints = ('train_videos', 'val_videos', 'frames', 'size', 'seed', 'min_objects', 'max_objects',
            'max_distractors', 'jpeg_quality')
    for key in ints:
        if isinstance(p[key], bool) or int(p[key]) != p[key]:
            raise ValueError(f'{key} must be an integer, got {p[key]!r}')
        p[key] = int(p[key])
    for key in ('frame_jitter', 'degradation'):
        p[key] = float(p[key])
    checks = [
        ('train_videos', p['train_videos'] >= 0, '>= 0'),
        ('val_videos', p['val_videos'] >= 0, '>= 0'),
        ('frames', p['frames'] >= 1, '>= 1'),
        ('size', p['size'] >= 64, '>= 64 pixels'),
        ('seed', p['seed'] >= 0, '>= 0'),
        ('frame_jitter', 0.0 <= p['frame_jitter'] < 1.0, 'in [0, 1)'),
        ('min_objects', 0 <= p['min_objects'] <= p['max_objects'], 'in [0, max_objects]'),
        ('max_objects', p['max_objects'] >= 1, '>= 1'),
        ('max_distractors', p['max_distractors'] >= 0, '>= 0'),
        ('degradation', p['degradation'] >= 0.0, '>= 0'),
        ('jpeg_quality', 1 <= p['jpeg_quality'] <= 100, 'in [1, 100]'),
    ]
    for key, ok, rule in checks:
        if not ok:
            raise ValueError(f'SynthVID parameter {key}={p[key]!r} must be {rule}')
    return p


def params_hash(params: Dict[str, Any]) -> str:
    """Hash of the resolved parameters and :data:`GENERATOR_VERSION`."""
    text = json.dumps(dict(params, generator_version=GENERATOR_VERSION), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def train_split_hash(params: Dict[str, Any]) -> str:
    """Hash of what the training split depends on: the resolved parameters but
    ``val_videos`` (each video is drawn from the seed, its split and its index
    alone, so more validation videos leave the training videos as they are).
    A model trained on a folder fits any folder with the same training hash."""
    return params_hash({k: v for k, v in params.items() if k != 'val_videos'})


def _video_config(p: Dict[str, Any]) -> VideoConfig:
    return VideoConfig(image_size=p['size'], max_frames=p['frames'], frame_jitter=p['frame_jitter'],
                       objects=(p['min_objects'], p['max_objects']),
                       distractors=(0, p['max_distractors']), degradation=p['degradation'],
                       jpeg_quality=p['jpeg_quality'])


def _job(args) -> VideoResult:
    return make_video(*args)


def _default_workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _run_jobs(jobs: List[tuple], workers: int, desc: str, progress: bool,
              job: Callable[[tuple], Any] = _job) -> List[Any]:
    bar = tqdm(total=len(jobs), desc=desc, unit='video', disable=not progress)
    results = []
    if workers <= 1 or len(jobs) <= 1:
        for args in jobs:
            results.append(job(args))
            bar.update()
    else:
        # fork: workers inherit the imported modules instead of re-importing the
        # package (and torch) as spawn would; they use only numpy and OpenCV.
        method = 'fork' if 'fork' in multiprocessing.get_all_start_methods() else 'spawn'
        with multiprocessing.get_context(method).Pool(min(workers, len(jobs))) as pool:
            for result in pool.imap(job, jobs, chunksize=1):
                results.append(result)
                bar.update()
    bar.close()
    return results


def _build_split(results: List[VideoResult]):
    """CocoVID dict and the side file of one split, in video order."""
    builder = CocoVIDBuilder(synthvid_categories())
    conditions: Dict[str, list] = dict(images=[], annotations=[])
    for video in results:
        video_id = builder.add_video(video.name)
        for frame_id, (file_name, boxes, cond) in enumerate(
                zip(video.file_names, video.boxes, video.conditions)):
            image_id = builder.add_image(video_id, frame_id, file_name, video.width, video.height)
            conditions['images'].append(dict(id=image_id, **cond))
            for box in boxes:
                ann_id = builder.add_annotation(image_id, video_id, box.track_key, box.category_id,
                                                box.bbox, occluded=box.occluded)
                conditions['annotations'].append(
                    dict(id=ann_id, regime=box.regime, blur_ratio=box.blur_ratio, hard=box.hard))
    return builder, conditions


def _split_stats(builder: CocoVIDBuilder, conditions: Dict[str, list]) -> Dict[str, Any]:
    anns, images = builder.annotations, builder.images
    per_image = Counter(a['image_id'] for a in anns)
    hard = [c['hard'] for c in conditions['annotations']]
    reasons = Counter(r for h in hard for r in h)
    n = max(len(anns), 1)
    names = dict(enumerate(SYNTHVID_CLASS_NAMES, 1))
    return dict(
        videos=len(builder.videos), images=len(images), annotations=len(anns),
        instances=builder.num_instances,
        images_without_boxes=sum(1 for img in images if per_image[img['id']] == 0),
        boxes_per_image=round(len(anns) / max(len(images), 1), 3),
        class_counts={names[k]: v
                      for k, v in sorted(Counter(a['category_id'] for a in anns).items())},
        motion_bins={k: round(v, 4) for k, v in motion_bin_fractions(anns, images).items()},
        speed_regimes={k: round(v / n, 4) for k, v in
                       sorted(Counter(c['regime'] for c in conditions['annotations']).items())},
        occluded=round(sum(a['occluded'] for a in anns) / n, 4),
        hard=round(sum(1 for h in hard if h) / n, 4),
        hard_reasons={k: round(v / n, 4) for k, v in sorted(reasons.items())},
        box_side_px=[int(min(min(a['bbox'][2:]) for a in anns)) if anns else 0,
                     int(max(max(a['bbox'][2:]) for a in anns)) if anns else 0],
    )


def generate_synthvid(out_dir: str, train_videos: int = 80, val_videos: int = 20, frames: int = 36,
                      size: int = 160, seed: int = 0, workers: Optional[int] = None,
                      progress: bool = True, **knobs: Any) -> Dict[str, Any]:
    """Generate SynthVID into ``out_dir`` (which must be absent or empty).

    Args:
        out_dir: Output folder.
        train_videos: Number of training videos.
        val_videos: Number of validation videos.
        frames: Length of the longest video; lengths are drawn uniformly from
            ``[ceil((1 - frame_jitter) * frames), frames]``.
        size: Frame side in pixels (square frames).
        seed: Master seed.
        workers: Processes rendering videos (default: available cores, at
            most 8). The output does not depend on it.
        progress: Show progress bars.
        **knobs: ``frame_jitter``, ``min_objects``, ``max_objects``,
            ``max_distractors``, ``degradation`` (0: clean frames; 1: default
            episode rates), ``jpeg_quality``.

    Returns:
        The content of ``synthvid_params.json``: ``params``, ``params_hash``,
        ``generator_version``, per-split ``stats`` and ``seconds``.

    Raises:
        FileExistsError: ``out_dir`` exists and is not empty.
        TypeError / ValueError: See :func:`resolve_params`.
    """
    params = resolve_params(train_videos=train_videos, val_videos=val_videos, frames=frames,
                            size=size, seed=seed, **knobs)
    if osp.isdir(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f'{out_dir} is not empty; SynthVID is generated into an empty '
                              'folder (ensure_synthvid replaces a stale one)')
    start = time.time()
    cfg = _video_config(params)
    workers = _default_workers() if workers is None else max(1, int(workers))
    summary: Dict[str, Any] = dict(params=params, params_hash=params_hash(params),
                                   train_hash=train_split_hash(params),
                                   generator_version=GENERATOR_VERSION, stats={})
    for split in SPLITS:
        jobs = []
        for index in range(params[f'{split}_videos']):
            name = f'synthvid_{split}_{index:04d}'
            jobs.append((params['seed'], _SPLIT_CODES[split], index, name,
                         osp.join(out_dir, 'Data', 'VID', split, name), f'VID/{split}/{name}', cfg))
        results = _run_jobs(jobs, workers, f'SynthVID {split}', progress)
        builder, conditions = _build_split(results)
        ann_dir = osp.join(out_dir, 'annotations')
        write_json_atomic(builder.to_dict(), osp.join(ann_dir, f'synthvid_{split}.json'))
        write_json_atomic(conditions, osp.join(ann_dir, f'synthvid_{split}_conditions.json'))
        summary['stats'][split] = _split_stats(builder, conditions)
    summary['seconds'] = round(time.time() - start, 2)
    # Written last: a folder without it is an interrupted generation.
    write_json_atomic(summary, osp.join(out_dir, PARAMS_FILE), indent=2)
    return summary


def read_summary(root: str, params_file: str = PARAMS_FILE,
                 ann_pattern: str = 'synthvid_{split}.json') -> Optional[Dict[str, Any]]:
    """The summary file of a complete generated folder (one annotation file per
    split present), else ``None``."""
    path = osp.join(root, params_file)
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        return None
    for split in SPLITS:
        if not osp.isfile(osp.join(root, 'annotations', ann_pattern.format(split=split))):
            return None
    return summary


def read_synthvid_summary(root: str) -> Optional[Dict[str, Any]]:
    """The ``synthvid_params.json`` of a complete SynthVID folder, else ``None``.

    ``train_hash`` (:func:`train_split_hash`) is filled in for folders
    generated before it was recorded."""
    summary = read_summary(root)
    if summary is not None and 'train_hash' not in summary and 'params' in summary:
        summary['train_hash'] = train_split_hash(summary['params'])
    return summary


def _is_replaceable(root: str, params_file: str = PARAMS_FILE,
                    ann_glob: str = 'synthvid_*.json') -> bool:
    """``root`` is absent, empty, or a (possibly stale) generated folder."""
    if not osp.exists(root):
        return True
    if not osp.isdir(root):
        return False
    return (not os.listdir(root) or osp.isfile(osp.join(root, params_file)) or
            bool(glob.glob(osp.join(glob.escape(root), 'annotations', ann_glob))))


#: Paths (relative, with ``/``) of everything :func:`generate_synthvid` writes;
#: any other file in a SynthVID folder is the user's and survives regeneration.
#: Hidden ``*.tmp*`` files are the leftovers of interrupted JSON writes.
GENERATED_FILES = re.compile(
    r'^(synthvid_params\.json'
    r'|annotations/synthvid_(train|val)(_conditions)?\.json'
    r'|Data/VID/(train|val)/synthvid_(train|val)_\d+/\d+\.JPEG'
    r'|(.*/)?\.[^/]+\.tmp[^/]*)$')


def _walk_files(folder: str) -> Iterator[str]:
    """Relative paths (with ``/``) of the files and links under ``folder``."""
    for dirpath, dirnames, filenames in os.walk(folder):
        rel_dir = osp.relpath(dirpath, folder)
        # Links to folders are moved as links, never followed.
        names = filenames + [d for d in dirnames if osp.islink(osp.join(dirpath, d))]
        for name in names:
            rel = name if rel_dir == '.' else osp.join(rel_dir, name)
            yield rel.replace(os.sep, '/')


def _remove_empty_dirs(folder: str) -> None:
    for dirpath, _, _ in sorted(os.walk(folder), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):  # not empty: kept
            os.rmdir(dirpath)


def retire_generated_folder(old: str, new_root: Optional[str],
                            generated: 're.Pattern[str]') -> List[str]:
    """Delete the generated files of a replaced folder and keep everything else.

    Files whose relative path matches ``generated`` are deleted; any other
    file (something a user put there) is moved to the same relative path
    under ``new_root`` when that path is free, else left where it is. The
    folder itself is removed only once it is empty.

    Args:
        old: The replaced folder (``<root>.old-<pid>``, or a stale one).
        new_root: The freshly generated folder; None leaves the user's files
            in ``old``.
        generated: Matches the relative paths the generator writes.

    Returns:
        list[str]: The relative paths of the user's files that were moved.
    """
    moved, left = [], []
    for rel in list(_walk_files(old)):
        src = osp.join(old, rel)
        if generated.match(rel):
            os.remove(src)
            continue
        dest = None if new_root is None else osp.join(new_root, rel)
        if dest is None or osp.lexists(dest):
            left.append(rel)
            continue
        os.makedirs(osp.dirname(dest), exist_ok=True)
        os.replace(src, dest)
        moved.append(rel)
    _remove_empty_dirs(old)
    if left:
        warnings.warn(f'{old}: kept {len(left)} file(s) that are not generated data and could '
                      f'not be moved back (first: {left[:3]}); move them yourself')
    return moved


def ensure_generated(root: str, current: Optional[Dict[str, Any]], wanted_hash: str,
                     generate: Callable[[str], Dict[str, Any]], force: bool = False,
                     params_file: str = PARAMS_FILE, ann_glob: str = 'synthvid_*.json',
                     what: str = 'SynthVID',
                     generated: 're.Pattern[str]' = GENERATED_FILES) -> Dict[str, Any]:
    """Reuse ``root`` when its summary has ``wanted_hash``, else regenerate it.

    The data are generated into ``<root>.tmp-<pid>`` by ``generate(tmp)`` and
    renamed over ``root``, so an interrupted generation never looks complete.
    Files in the old ``root`` that the generator did not write (``generated``
    does not match them) are moved into the new folder: regeneration deletes
    only generated data. The caller holds the lock (see :func:`ensure_synthvid`).

    Args:
        root: Absolute folder.
        current: The summary read from ``root`` (``None`` if incomplete).
        wanted_hash: ``params_hash`` of the wanted parameters.
        generate: Writes the data into an empty folder, returns its summary.
        force: Regenerate even if up to date.
        params_file: Name of the summary file that marks a complete folder.
        ann_glob: Annotation files that also mark a folder as generated data.
        what: Name of the data in error messages.
        generated: Matches the relative paths (with ``/``) that ``generate``
            writes.

    Returns:
        The summary, with ``generated`` True when this call generated it and
        ``kept_user_files``, the relative paths of the files carried over.

    Raises:
        FileExistsError: ``root`` holds something else (never replaced).
    """
    # Folders an interrupted replacement left behind may hold the user's files.
    stale_olds = glob.glob(f'{glob.escape(root)}.old-*')
    if current is not None and current.get('params_hash') == wanted_hash and not force:
        for stale in stale_olds:
            retire_generated_folder(stale, root, generated)
        return dict(current, generated=False)
    if not _is_replaceable(root, params_file, ann_glob):
        raise FileExistsError(f'{root} exists and is not a {what} folder (no '
                              f'{params_file}, no annotations/{ann_glob}); choose another folder')
    for stale in glob.glob(f'{glob.escape(root)}.tmp-*'):
        shutil.rmtree(stale, ignore_errors=True)  # only ever holds generated data
    tmp = f'{root}.tmp-{os.getpid()}'
    kept: List[str] = []
    try:
        summary = generate(tmp)
        old = f'{root}.old-{os.getpid()}'
        if osp.exists(root):
            os.rename(root, old)
            stale_olds.append(old)
        os.rename(tmp, root)
        for stale in stale_olds:
            kept += retire_generated_folder(stale, root, generated)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if kept:
        print(f'{what}: regenerated {root}; kept {len(kept)} file(s) that are not generated '
              f'data: {kept[:5]}{" ..." if len(kept) > 5 else ""}', flush=True)
    return dict(summary, generated=True, kept_user_files=kept)


@contextlib.contextmanager
def folder_lock(root: str) -> Iterator[None]:
    """An exclusive file lock ``<root>.lock`` (distributed ranks generate once)."""
    os.makedirs(osp.dirname(root), exist_ok=True)
    with open(f'{root}.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_synthvid(root: str, force: bool = False, workers: Optional[int] = None,
                    progress: bool = True, **params: Any) -> Dict[str, Any]:
    """Return SynthVID at ``root``, generating it when missing or stale.

    The folder is reused while its ``synthvid_params.json`` records the same
    parameters (and generator version). Otherwise the set is generated into
    ``<root>.tmp-<pid>`` and renamed over ``root``, so an interrupted
    generation never looks complete; a file lock (``<root>.lock``) keeps
    concurrent callers (e.g. distributed ranks) from generating twice.

    Args:
        root: The SynthVID folder (``ann_file``/``data_prefix`` are relative to it).
        force: Regenerate even if up to date.
        workers: See :func:`generate_synthvid`.
        progress: Show progress bars.
        **params: ``train_videos``, ``val_videos``, ``frames``, ``size``,
            ``seed`` and the knobs of :func:`generate_synthvid`; missing ones
            take :data:`DEFAULT_PARAMS`.

    Returns:
        The folder's summary (see :func:`generate_synthvid`), with
        ``generated`` True when this call generated it.

    Raises:
        FileExistsError: ``root`` holds something that is not SynthVID (it is
            never replaced).
    """
    wanted = resolve_params(**params)
    root = osp.abspath(root)
    with folder_lock(root):
        return ensure_generated(
            root, read_synthvid_summary(root), params_hash(wanted),
            lambda tmp: generate_synthvid(tmp, workers=workers, progress=progress, **wanted),
            force=force)
