"""Conversion of annotation sources to CocoVID JSON (schema: ``docs/data_formats.md``)."""
from .cocovid import CocoVIDBuilder, write_json_atomic
from .ilsvrc_meta import (IMAGENET_VID_CLASS_NAMES, IMAGENET_VID_CLASSES,
                          IMAGENET_VID_WNID_TO_ID)
from .ilsvrc_xml import InvalidAnnotationError, parse_ilsvrc_xml
from .imagenet_vid import (OUTPUT_FILES, ConversionReport, convert_det, convert_imagenet_vid,
                           convert_vid_split)

__all__ = [
    'CocoVIDBuilder', 'write_json_atomic', 'IMAGENET_VID_CLASSES', 'IMAGENET_VID_CLASS_NAMES',
    'IMAGENET_VID_WNID_TO_ID', 'InvalidAnnotationError', 'parse_ilsvrc_xml', 'OUTPUT_FILES',
    'ConversionReport', 'convert_det', 'convert_imagenet_vid', 'convert_vid_split'
]
