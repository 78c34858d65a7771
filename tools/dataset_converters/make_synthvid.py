"""Generate SynthVID, the embedded synthetic video data set (CocoVID JSON + JPEG frames).

Example::

    python tools/dataset_converters/make_synthvid.py --out data/synthvid

An existing folder generated with the same parameters is reused (``--force``
regenerates). Layout, schema and knobs: ``docs/data_formats.md``.
"""
import argparse
import json
import sys
import time

from mmvid_memory.datasets.synthvid import DEFAULT_PARAMS, ensure_synthvid


def parse_args(argv=None) -> argparse.Namespace:
    d = DEFAULT_PARAMS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--train-videos', type=int, default=d['train_videos'])
    parser.add_argument('--val-videos', type=int, default=d['val_videos'])
    parser.add_argument('--frames', type=int, default=d['frames'],
                        help='frames of the longest video (lengths vary by --frame-jitter)')
    parser.add_argument('--size', type=int, default=d['size'], help='frame side in pixels')
    parser.add_argument('--seed', type=int, default=d['seed'])
    parser.add_argument('--frame-jitter', type=float, default=d['frame_jitter'],
                        help='video lengths are drawn from [(1 - jitter) * frames, frames]')
    parser.add_argument('--min-objects', type=int, default=d['min_objects'])
    parser.add_argument('--max-objects', type=int, default=d['max_objects'])
    parser.add_argument('--max-distractors', type=int, default=d['max_distractors'])
    parser.add_argument('--degradation', type=float, default=d['degradation'],
                        help='scales the rate of blur/defocus/darkness/noise episodes; 0: clean')
    parser.add_argument('--jpeg-quality', type=int, default=d['jpeg_quality'])
    parser.add_argument('--workers', type=int, default=None,
                        help='processes (default: available cores, at most 8); '
                        'the output does not depend on it')
    parser.add_argument('--force', action='store_true', help='regenerate even if up to date')
    parser.add_argument('--no-progress', action='store_true', help='hide progress bars')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    params = {key: getattr(args, key) for key in DEFAULT_PARAMS}
    start = time.time()
    try:
        summary = ensure_synthvid(args.out, force=args.force, workers=args.workers,
                                  progress=not args.no_progress, **params)
    except (TypeError, ValueError, FileExistsError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    state = 'generated' if summary['generated'] else 'up to date, reused'
    print(f'SynthVID at {args.out}: {state} ({time.time() - start:.1f} s)')
    print(json.dumps(summary['stats'], indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
