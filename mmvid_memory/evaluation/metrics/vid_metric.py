"""ImageNet VID mAP with FGFA's slow / medium / fast splits, as an mmengine metric."""
from collections import defaultdict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from terminaltables import AsciiTable

from ..functional.frame_groups import (FrameGroups, check_frame_groups, frame_group_members,
                                       load_frame_groups)
from ..functional.vid_eval import (FGFA_MOTION_RANGES, SPLIT_FP_RULES, evaluate_vid_detections,
                                   motion_ious)


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'tensor'):  # mmdet's HorizontalBoxes
        value = value.tensor
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _instances(sample: Mapping, key: str) -> Mapping:
    value = sample.get(key)
    if value is None:
        return {}
    return value.to_dict() if hasattr(value, 'to_dict') else value


@METRICS.register_module()
class VIDMetric(BaseMetric):
    """ImageNet VID detection mAP, overall and on FGFA's motion-speed splits.

    The rules are those of the ILSVRC VID devkit:

    * a detection is a TP when it is matched to a ground-truth box of its
      class with IoU >= min(0.5, w h / ((w + 10)(h + 10))) (w, h of the
      ground-truth box): small objects accept a lower IoU;
    * matching is greedy per frame: detections by decreasing score, each
      taking the unmatched box with the highest qualifying IoU; duplicates
      are FPs;
    * AP is the area under the precision envelope over all recall points
      (the devkit's ``VOCap``, VOC 2010+ style, not the 11-point VOC 2007
      sampling): this is what the devkit, FGFA and the seeds' tables report,
      so the numbers are comparable with theirs;
    * mAP is the mean over classes with ground truth.

    Motion splits (FGFA): a ground-truth box's motion IoU is its mean IoU
    with the boxes of the same track in the frames within ±``frame_range``
    (10), itself excluded (no such box: 0, i.e. fast, as FGFA's loader
    reads an empty entry). slow: [0.9, 1], medium: [0.7, 0.9], fast:
    [0, 0.7], bounds inclusive as in FGFA's code. For a split, boxes outside
    it are ignored: they do not count as positives, and a detection matched
    to one is neither TP nor FP. An unmatched detection (rule ``'fgfa'``,
    from FGFA's ``imagenet_vid_eval_motion.py``) is an FP when it overlaps
    in-split boxes more than ignored ones, is not counted when it overlaps
    ignored boxes more, counts as the fraction of the frame's boxes outside
    the split on a tie, and in a frame without boxes as the split's share of
    all boxes of the data set. ``split_fp_rule='strict'`` counts every
    unmatched detection as an FP instead.

    Ground truth is read from the data samples (``gt_instances`` with
    ``bboxes``, ``labels``, ``instances_ids``; ``ignored_instances`` are
    never counted; metainfo ``img_id``, ``video_id``, ``frame_id``), so no
    annotation file is needed; the boxes must be in original image
    coordinates, i.e. annotations loaded after ``Resize`` as mmdet's test
    pipelines do. With ``ann_file`` the ground truth of every image of that
    CocoVID file is used instead (frames without predictions count as
    missed). Results are collected over ranks as ``BaseMetric`` does and
    deduplicated by ``img_id``, so padding samplers do not count frames
    twice.

    Frame groups: ``frame_groups`` names sets of frames (a JSON file, see
    :mod:`..functional.frame_groups`, or a dict); each group gets its own mAP
    over the frames in it, e.g. frames inside a degradation episode against
    clean frames. Without ``frame_groups`` the data set's own groups are used
    when its metainfo has ``frame_groups`` (SynthVID: ``degraded`` and
    ``clean``, from the generator's conditions file).

    Keys (``vid/`` prefix): ``mAP``, ``mAP_slow``, ``mAP_medium``,
    ``mAP_fast`` (fractions in [0, 1]), ``mAP_<group>`` per frame group and
    ``frames_<group>`` (its number of frames); with ``classwise`` also
    ``AP_<class>``. A per-class table (in %) goes to the log.

    Args:
        ann_file (str, optional): CocoVID file for the ground truth.
        iou_thr (float): IoU threshold for large objects.
        pixel_tolerance (float): the 10 of the small-object rule.
        pixel_offset (float): 0 for mmdet's continuous boxes, 1 for the
            devkit's inclusive pixel boxes.
        motion_splits (bool): compute the slow / medium / fast mAPs.
        motion_ranges (dict): split name -> (low, high) motion IoU.
        frame_range (int): motion IoU neighbourhood (frames).
        split_fp_rule (str): ``'fgfa'`` or ``'strict'``.
        classwise (bool): also return per-class APs.
        frames_since_evidence (int, optional): score only the frames that
            are exactly this many frames after the last frame with image
            evidence (Vu et al., Table 2: propagation by delta frames). The
            detector puts ``frames_since_evidence`` into each frame's
            metainfo when feature or box propagation is on. None scores every
            frame.
        frame_groups (str | dict, optional): a group file or a dict of group
            name -> image ids / file names; ``False`` switches the data
            set's groups off.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): defaults to ``'vid'``.
        backend_args (dict, optional): for reading ``ann_file``.
    """

    default_prefix: Optional[str] = 'vid'

    def __init__(self, ann_file: Optional[str] = None, iou_thr: float = 0.5,
                 pixel_tolerance: float = 10.0, pixel_offset: float = 0.0,
                 motion_splits: bool = True,
                 motion_ranges: Optional[Mapping[str, Sequence[float]]] = None,
                 frame_range: int = 10, split_fp_rule: str = 'fgfa', classwise: bool = False,
                 frames_since_evidence: Optional[int] = None,
                 frame_groups: Union[None, bool, str, Mapping] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if split_fp_rule not in SPLIT_FP_RULES:
            raise ValueError(f'split_fp_rule must be one of {SPLIT_FP_RULES}, '
                             f'got {split_fp_rule!r}')
        ranges = FGFA_MOTION_RANGES if motion_ranges is None else motion_ranges
        self.motion_ranges = ({k: (float(v[0]), float(v[1])) for k, v in ranges.items()}
                              if motion_splits else {})
        self.ann_file = ann_file
        self.iou_thr = iou_thr
        self.pixel_tolerance = pixel_tolerance
        self.pixel_offset = pixel_offset
        self.frame_range = frame_range
        self.split_fp_rule = split_fp_rule
        self.classwise = classwise
        if frames_since_evidence is not None and int(frames_since_evidence) < 0:
            raise ValueError(f'frames_since_evidence must be >= 0, got {frames_since_evidence}')
        self.frames_since_evidence = frames_since_evidence
        if frame_groups is True:
            raise ValueError('frame_groups takes a file, a dict, None (the data set\'s groups) '
                             'or False (none), not True')
        reserved = tuple(self.motion_ranges)
        if isinstance(frame_groups, str):
            self.frame_groups: Optional[FrameGroups] = load_frame_groups(frame_groups, reserved)
            self._groups_source = frame_groups
        elif isinstance(frame_groups, Mapping):
            self.frame_groups = check_frame_groups(frame_groups, 'VIDMetric(frame_groups=...)',
                                                   reserved)
            self._groups_source = 'VIDMetric(frame_groups=...)'
        else:
            self.frame_groups = None
            self._groups_source = None
        self._use_dataset_groups = frame_groups is None
        self.backend_args = backend_args

    # ---------------------------------------------------------------- process
    def process(self, data_batch: Any, data_samples: Sequence[Mapping]) -> None:
        """Keep each frame's detections and ground truth (numpy, original scale)."""
        for sample in data_samples:
            if hasattr(sample, 'to_dict'):
                sample = sample.to_dict()
            pred = _instances(sample, 'pred_instances')
            if 'bboxes' not in pred:
                raise KeyError(f'frame {sample.get("img_path")} has no pred_instances.bboxes')
            record = dict(
                img_id=sample.get('img_id'),
                img_path=sample.get('img_path'),
                video_id=sample.get('video_id'),
                frame_id=sample.get('frame_id'),
                det_bboxes=_to_numpy(pred['bboxes']).astype(np.float32).reshape(-1, 4),
                det_scores=_to_numpy(pred['scores']).astype(np.float32).reshape(-1),
                det_labels=_to_numpy(pred['labels']).astype(np.int64).reshape(-1))
            if self.frames_since_evidence is not None:
                gap = sample.get('frames_since_evidence')
                if gap is None:
                    raise KeyError(
                        f'frame {sample.get("img_path")} has no frames_since_evidence in its '
                        'metainfo: VIDMetric(frames_since_evidence=...) needs a detector with '
                        'feature propagation (pixel memory propagation.delta > 0) or '
                        'test_cfg.box_propagation')
                record['frames_since_evidence'] = int(gap)
            if self.ann_file is None:
                record.update(self._ground_truth(sample))
            self.results.append(record)

    def _ground_truth(self, sample: Mapping) -> dict:
        gt = _instances(sample, 'gt_instances')
        ignored = _instances(sample, 'ignored_instances')
        if 'bboxes' not in gt:
            raise KeyError(f'frame {sample.get("img_path")} has no gt_instances.bboxes: load '
                           'annotations in the test pipeline or give VIDMetric an ann_file')
        if self.motion_ranges:
            for key, part in (('gt_instances', gt), ('ignored_instances', ignored)):
                if len(_to_numpy(part.get('bboxes', np.zeros((0, 4))))) and \
                        'instances_ids' not in part:
                    raise KeyError(
                        f'frame {sample.get("img_path")}: {key} has no instances_ids (track '
                        'ids) for the motion splits; use LoadTrackAnnotations and '
                        'PackVideoFrameInputs, or VIDMetric(motion_splits=False)')
            for key in ('video_id', 'frame_id'):
                if sample.get(key) is None:
                    raise KeyError(f'frame {sample.get("img_path")} has no {key} in its '
                                   'metainfo, which the motion splits need')

        def arrays(part: Mapping, ignore: bool) -> dict:
            boxes = _to_numpy(part.get('bboxes', np.zeros((0, 4)))).astype(np.float32)
            boxes = boxes.reshape(-1, 4)
            num = len(boxes)
            ids = part.get('instances_ids')
            return dict(
                gt_bboxes=boxes,
                gt_labels=_to_numpy(part.get('labels', np.zeros(0))).astype(np.int64).reshape(-1),
                gt_instance_ids=(np.full(num, -1, dtype=np.int64) if ids is None
                                 else _to_numpy(ids).astype(np.int64).reshape(-1)),
                gt_ignore=np.full(num, ignore, dtype=bool))

        parts = [arrays(gt, False), arrays(ignored, True)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    # ---------------------------------------------------------------- compute
    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """mAP overall and per motion split from all ranks' frame records."""
        frames = self._unique_frames(results)
        if self.ann_file is not None:
            frames = self._attach_ann_file_gt(frames)
        if self.motion_ranges:
            self._attach_motion_iou(frames)
        if self.frames_since_evidence is not None:
            # After the motion IoUs, which need every frame of a track.
            frames = [f for f in frames
                      if f.get('frames_since_evidence') == int(self.frames_since_evidence)]
            if not frames:
                raise ValueError(f'no frame is {self.frames_since_evidence} frames after its '
                                 'last image evidence; check the propagation delta and window')
        classes = self._classes(frames)
        evaluation = evaluate_vid_detections(
            frames, len(classes), motion_ranges=self.motion_ranges, iou_thr=self.iou_thr,
            pixel_tolerance=self.pixel_tolerance, pixel_offset=self.pixel_offset,
            split_fp_rule=self.split_fp_rule)
        self._log_table(classes, evaluation, len(frames))
        metrics = {'mAP': evaluation['all']['mAP']}
        for name in self.motion_ranges:
            metrics[f'mAP_{name}'] = evaluation[name]['mAP']
        for name, (num_frames, value) in self._group_maps(frames, len(classes)).items():
            metrics[f'mAP_{name}'] = value
            metrics[f'frames_{name}'] = num_frames
        if self.classwise:
            for name, ap in zip(classes, evaluation['all']['ap']):
                metrics[f'AP_{name}'] = float(ap)
        return metrics

    def _active_groups(self) -> Tuple[Optional[FrameGroups], Optional[str]]:
        if self.frame_groups is not None or not self._use_dataset_groups:
            return self.frame_groups, self._groups_source
        groups = (self.dataset_meta or {}).get('frame_groups')
        if groups is None:
            return None, None
        source = 'the data set\'s metainfo frame_groups'
        if isinstance(groups, str):
            return load_frame_groups(groups, tuple(self.motion_ranges)), groups
        return check_frame_groups(groups, source, tuple(self.motion_ranges)), source

    def _group_maps(self, frames: List[dict], num_classes: int) -> Dict[str, Tuple[int, float]]:
        """(frames, mAP) of every frame group; NaN for a group with no frame."""
        groups, source = self._active_groups()
        if not groups:
            return {}
        out = {}
        rows = [['group', 'frames', 'gts', 'mAP']]
        for name, members in frame_group_members(frames, groups, source).items():
            subset = [frames[i] for i in members]
            evaluation = evaluate_vid_detections(
                subset, num_classes, iou_thr=self.iou_thr, pixel_tolerance=self.pixel_tolerance,
                pixel_offset=self.pixel_offset, split_fp_rule=self.split_fp_rule)['all']
            out[name] = (len(subset), evaluation['mAP'])
            rows.append([name, len(subset), int(evaluation['num_pos'].sum()),
                         '-' if np.isnan(evaluation['mAP']) else f'{100 * evaluation["mAP"]:.1f}'])
        print_log(f'VID mAP per frame group ({source}):\n' + AsciiTable(rows).table,
                  logger='current')
        return out

    @staticmethod
    def _unique_frames(results: List[dict]) -> List[dict]:
        seen, frames = set(), []
        for record in results:
            key = record['img_id'] if record.get('img_id') is not None else (
                record.get('video_id'), record.get('frame_id'))
            if key in seen:
                continue  # a sampler's padding repeats frames
            seen.add(key)
            frames.append(record)
        return frames

    def _classes(self, frames: List[dict]) -> Sequence[str]:
        classes = (self.dataset_meta or {}).get('classes')
        if classes:
            return tuple(classes)
        top = max([int(f['det_labels'].max()) for f in frames if len(f['det_labels'])] +
                  [int(f['gt_labels'].max()) for f in frames if len(f['gt_labels'])] + [-1])
        return tuple(str(c) for c in range(top + 1))

    def _attach_ann_file_gt(self, frames: List[dict]) -> List[dict]:
        from mmvid_memory.datasets.cocovid import load_cocovid
        classes = (self.dataset_meta or {}).get('classes')
        parsed = load_cocovid(self.ann_file, classes=classes, backend_args=self.backend_args)
        if not classes:
            self.dataset_meta = dict(self.dataset_meta or {}, classes=parsed.classes)
        predicted = {f['img_id']: f for f in frames}
        merged = []
        for video in parsed.videos:
            for frame in video['frames']:
                record = dict(predicted.pop(frame['img_id'], None) or dict(
                    img_id=frame['img_id'], det_bboxes=np.zeros((0, 4), np.float32),
                    det_scores=np.zeros(0, np.float32), det_labels=np.zeros(0, np.int64)))
                inst = frame['instances']
                record.update(
                    video_id=video['video_id'], frame_id=frame['frame_id'],
                    gt_bboxes=np.asarray([i['bbox'] for i in inst], np.float32).reshape(-1, 4),
                    gt_labels=np.asarray([i['bbox_label'] for i in inst], np.int64),
                    gt_instance_ids=np.asarray([i['instance_id'] for i in inst], np.int64),
                    gt_ignore=np.asarray([bool(i['ignore_flag']) for i in inst], bool))
                merged.append(record)
        if predicted:
            raise KeyError(f'{len(predicted)} predicted frames are not in {self.ann_file}, '
                           f'e.g. img_id={next(iter(predicted))}')
        return merged

    def _attach_motion_iou(self, frames: List[dict]) -> None:
        counts = [len(f['gt_labels']) for f in frames]
        video_ids = [f['video_id'] for f, n in zip(frames, counts) for _ in range(n)]
        frame_ids = np.repeat([int(f['frame_id']) for f in frames], counts)
        instance_ids = (np.concatenate([f['gt_instance_ids'] for f in frames])
                        if frames else np.zeros(0, np.int64))
        boxes = (np.concatenate([f['gt_bboxes'] for f in frames]) if frames
                 else np.zeros((0, 4)))
        values = motion_ious(video_ids, instance_ids, frame_ids, boxes,
                             frame_range=self.frame_range, pixel_offset=self.pixel_offset)
        for frame, part in zip(frames, np.split(values, np.cumsum(counts)[:-1])):
            frame['gt_motion_iou'] = part

    def _log_table(self, classes: Sequence[str], evaluation: Dict[str, Dict[str, Any]],
                   num_frames: int) -> None:
        splits = ['all'] + list(self.motion_ranges)
        header = ['class', 'gts', 'dets'] + [f'AP {s}' for s in splits]

        def pct(value: float) -> str:
            return '-' if np.isnan(value) else f'{100 * value:.1f}'

        rows = [header]
        for c, name in enumerate(classes):
            rows.append([name, int(evaluation['all']['num_pos'][c]),
                         int(evaluation['all']['num_dets'][c])] +
                        [pct(evaluation[s]['ap'][c]) for s in splits])
        gts_per_split = defaultdict(int)
        for s in splits:
            gts_per_split[s] = int(evaluation[s]['num_pos'].sum())
        rows.append(['mAP', gts_per_split['all'], int(evaluation['all']['num_dets'].sum())] +
                    [pct(evaluation[s]['mAP']) for s in splits])
        table = AsciiTable(rows)
        table.inner_footing_row_border = True
        share = ', '.join(f'{s} {gts_per_split[s]}' for s in splits[1:])
        print_log(f'VID evaluation on {num_frames} frames (ground-truth boxes per split: '
                  f'{share or "n/a"})\n' + table.table, logger='current')
