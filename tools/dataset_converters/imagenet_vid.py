"""Convert ILSVRC2015 VID (+ DET) annotations to CocoVID JSON.

Example::

    python tools/dataset_converters/imagenet_vid.py --root data/ILSVRC2015 \
        --out data/ILSVRC2015/annotations

writes ``imagenet_vid_train.json``, ``imagenet_vid_val.json`` and
``imagenet_det_30cls.json`` (schema and layout: ``docs/data_formats.md``).
"""
import argparse
import sys

from mmvid_memory.datasets.converters import (OUTPUT_FILES, InvalidAnnotationError,
                                              convert_imagenet_vid)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', required=True,
                        help='the ILSVRC2015 folder (Annotations/, Data/, ImageSets/)')
    parser.add_argument('--out', default=None, help='output folder (default: ROOT/annotations)')
    parser.add_argument('--splits', nargs='+', default=list(OUTPUT_FILES),
                        choices=list(OUTPUT_FILES), help='what to convert (default: all)')
    parser.add_argument('--skip-invalid', action='store_true',
                        help='skip invalid snippets/images and list them at the end instead '
                        'of stopping at the first one')
    parser.add_argument('--det-list', default=None,
                        help="DET image list such as FGFA's DET_train_30classes.txt "
                        '(default: ImageSets/DET/train_<k>.txt positives of the VID classes)')
    parser.add_argument('--det-map', default=None,
                        help='DET class map (default: ROOT/devkit/data/map_det.txt)')
    parser.add_argument('--no-progress', action='store_true', help='hide progress bars')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out if args.out is not None else f'{args.root.rstrip("/")}/annotations'
    try:
        reports = convert_imagenet_vid(args.root, out, splits=args.splits,
                                       skip_invalid=args.skip_invalid, det_list=args.det_list,
                                       det_map=args.det_map, progress=not args.no_progress)
    except (InvalidAnnotationError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        if isinstance(err, InvalidAnnotationError):
            print('(run with --skip-invalid to skip such items and list them at the end)',
                  file=sys.stderr)
        return 1
    for report in reports.values():
        print(report.summary())
    return 0


if __name__ == '__main__':
    sys.exit(main())
