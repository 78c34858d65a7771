"""Unknown keys in the config dicts the package reads itself are errors.

A typo such as ``key_frame_intervall=5`` used to be ignored, so a speed-mode
benchmark ran at full scale under a speed-mode label.
"""
import difflib
from typing import Any, Dict, Iterable, Mapping, Optional


class UnknownConfigKeyError(ValueError, TypeError):
    """A config dict has a key its reader does not know.

    Both a ``ValueError`` (a bad value in a config) and a ``TypeError`` (what
    an unexpected keyword argument raises), so callers catching either keep
    working.
    """


def check_cfg_keys(cfg: Optional[Mapping[str, Any]], known: Iterable[str],
                   where: str) -> Dict[str, Any]:
    """``cfg`` as a plain dict, after checking that every key is known.

    Args:
        cfg: The config dict (None reads as empty).
        known: The keys its reader understands.
        where: Its place in the config, for the message (e.g.
            ``'model.test_cfg'``).

    Returns:
        dict: A shallow copy of ``cfg``.

    Raises:
        UnknownConfigKeyError: Naming the unknown keys, a close known one for
            each (a likely typo) and all known keys.
    """
    if cfg is None:
        return {}
    if not isinstance(cfg, Mapping):
        raise TypeError(f'{where} must be a dict, got {type(cfg).__name__}: {cfg!r}')
    known = set(known)
    unknown = [k for k in cfg if k not in known]
    if unknown:
        names = sorted(str(k) for k in known)
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), names, n=1)
            if close:
                hints.append(f'{key!r} -> {close[0]!r}?')
        hint = f' (did you mean {", ".join(hints)})' if hints else ''
        raise UnknownConfigKeyError(f'{where} has unknown key(s) {unknown}{hint}; known keys: '
                                    f'{", ".join(names)}')
    return dict(cfg)
