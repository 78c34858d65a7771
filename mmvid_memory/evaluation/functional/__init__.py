from .frame_groups import check_frame_groups, frame_group_members, load_frame_groups
from .vid_eval import (FGFA_MOTION_RANGES, SPLIT_FP_RULES, bbox_iou_matrix,
                       class_average_precisions, devkit_average_precision,
                       evaluate_vid_detections, greedy_match, ilsvrc_iou_thresholds,
                       in_motion_range, motion_ious, split_tp_fp)

__all__ = [
    'check_frame_groups', 'frame_group_members', 'load_frame_groups',
    'FGFA_MOTION_RANGES', 'SPLIT_FP_RULES', 'bbox_iou_matrix', 'class_average_precisions',
    'devkit_average_precision', 'evaluate_vid_detections', 'greedy_match',
    'ilsvrc_iou_thresholds', 'in_motion_range', 'motion_ious', 'split_tp_fp'
]
