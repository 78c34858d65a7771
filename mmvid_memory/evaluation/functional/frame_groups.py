"""Named groups of frames for the VID metric (e.g. degraded against clean frames).

A group file is JSON::

    {"groups": {"degraded": ["val/ILSVRC2015_val_00007010/000012.JPEG", 1043, ...],
                "clean": [...]}}

An entry is a frame's image id (int, the ``img_id`` of its data sample) or
its file name (str): a path matched against the end of the frame's
``img_path`` on whole path components, so the file names of a CocoVID file
(``VID/val/<video>/<frame>.JPEG``) match frames loaded under any data root.
A frame may be in several groups or in none.
"""
import json
import re
from typing import Dict, List, Mapping, Optional, Sequence, Union

FrameKey = Union[int, str]
FrameGroups = Dict[str, List[FrameKey]]

_GROUP_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')


def check_frame_groups(groups: Mapping, source: str,
                       reserved: Sequence[str] = ()) -> FrameGroups:
    """Validate groups read from a file or given as a dict.

    Args:
        groups (Mapping): group name -> list of image ids or file names.
        source (str): where they came from, for error messages.
        reserved (Sequence[str]): names a group may not take (e.g. the
            motion splits), since they share the metric's key space.

    Returns:
        dict: name -> list of entries (file names with '/' separators).
    """
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError(f'frame groups from {source}: expected a non-empty mapping of '
                         f'group name -> frames, got {type(groups).__name__}')
    out: FrameGroups = {}
    for name, entries in groups.items():
        if not isinstance(name, str) or not _GROUP_NAME.match(name):
            raise ValueError(f'frame groups from {source}: group name {name!r} must be an '
                             'identifier (letters, digits, _; a letter first)')
        if name in reserved or name == 'all':
            raise ValueError(f'frame groups from {source}: group name {name!r} is taken by the '
                             f'metric (reserved: all, {", ".join(reserved)})')
        if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence):
            raise ValueError(f'frame groups from {source}: group {name!r} must be a list of '
                             f'image ids or file names, got {type(entries).__name__}')
        clean: List[FrameKey] = []
        for entry in entries:
            if isinstance(entry, bool) or not isinstance(entry, (int, str)):
                raise ValueError(f'frame groups from {source}: group {name!r} has entry '
                                 f'{entry!r}; entries are image ids (int) or file names (str)')
            clean.append(entry.replace('\\', '/').strip('/') if isinstance(entry, str) else entry)
        out[name] = clean
    return out


def load_frame_groups(path: str, reserved: Sequence[str] = ()) -> FrameGroups:
    """Read a group file (see the module docstring).

    Args:
        path (str): JSON file with a top-level ``groups`` mapping.
        reserved (Sequence[str]): see :func:`check_frame_groups`.

    Returns:
        dict: name -> entries.
    """
    try:
        with open(path) as f:
            content = json.load(f)
    except OSError as err:
        raise FileNotFoundError(f'frame group file {path}: {err}') from err
    except ValueError as err:
        raise ValueError(f'frame group file {path} is not valid JSON: {err}') from err
    if not isinstance(content, dict) or 'groups' not in content:
        raise ValueError(f'frame group file {path} must hold {{"groups": {{name: [frames]}}}}')
    return check_frame_groups(content['groups'], path, reserved)


def _path_suffixes(img_path: Optional[str]) -> List[str]:
    if not img_path:
        return []
    parts = [p for p in str(img_path).replace('\\', '/').split('/') if p]
    return ['/'.join(parts[i:]) for i in range(len(parts))]


def frame_group_members(frames: Sequence[Mapping], groups: FrameGroups,
                        source: str) -> Dict[str, List[int]]:
    """Positions in ``frames`` of the members of each group.

    Args:
        frames (Sequence[Mapping]): frame records with ``img_id`` and
            ``img_path``.
        groups (dict): from :func:`load_frame_groups`.
        source (str): where the groups came from, for error messages.

    Returns:
        dict: group name -> ascending positions (possibly empty).

    Raises:
        ValueError: no frame is in any group (the groups describe another
            data set or split).
    """
    ids = {name: {e for e in entries if isinstance(e, int)} for name, entries in groups.items()}
    names = {name: {e for e in entries if isinstance(e, str)} for name, entries in groups.items()}
    members: Dict[str, List[int]] = {name: [] for name in groups}
    for pos, frame in enumerate(frames):
        suffixes = _path_suffixes(frame.get('img_path'))
        for name in groups:
            if frame.get('img_id') in ids[name] or any(s in names[name] for s in suffixes):
                members[name].append(pos)
    if frames and not any(members.values()):
        example = frames[0].get('img_path') or frames[0].get('img_id')
        raise ValueError(f'frame groups from {source}: none of the {len(frames)} evaluated '
                         f'frames is in any group (first frame: {example}); the groups name '
                         'frames of another data set or split')
    return members
