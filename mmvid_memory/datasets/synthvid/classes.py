"""The SynthVID classes: a shape and a two-colour pattern.

Shape and pattern form a Latin design: every shape carries two patterns and
every pattern sits on two shapes, so neither the silhouette alone nor the
texture alone names the class. Blur, defocus, noise or darkness that wipes out
the pattern (or rounds off the silhouette) therefore leaves a frame ambiguous
between two or more classes, while a clear frame shows both cues. Colours are
drawn per object, independently of the class, so they carry no class cue.
"""
from typing import NamedTuple, Tuple

SHAPES = ('disc', 'square', 'triangle', 'star')
PATTERNS = ('stripes', 'checker', 'dots', 'rings')


class SynthClass(NamedTuple):
    """One SynthVID category.

    Attributes:
        name: Category name (``categories[].name``).
        shape: One of :data:`SHAPES`.
        pattern: One of :data:`PATTERNS`.
        code: A made-up WordNet-style id (``categories[].encode_name``).
    """
    name: str
    shape: str
    pattern: str
    code: str


SYNTHVID_CLASSES: Tuple[SynthClass, ...] = (
    SynthClass('striped_disc', 'disc', 'stripes', 's00000001'),
    SynthClass('checkered_disc', 'disc', 'checker', 's00000002'),
    SynthClass('striped_square', 'square', 'stripes', 's00000003'),
    SynthClass('dotted_square', 'square', 'dots', 's00000004'),
    SynthClass('checkered_triangle', 'triangle', 'checker', 's00000005'),
    SynthClass('ringed_triangle', 'triangle', 'rings', 's00000006'),
    SynthClass('dotted_star', 'star', 'dots', 's00000007'),
    SynthClass('ringed_star', 'star', 'rings', 's00000008'),
)

#: Class names in category-id order (``metainfo['classes']`` of a dataset).
SYNTHVID_CLASS_NAMES: Tuple[str, ...] = tuple(c.name for c in SYNTHVID_CLASSES)


def synthvid_categories() -> Tuple[Tuple[str, str], ...]:
    """``(name, encode_name)`` pairs for :class:`CocoVIDBuilder`."""
    return tuple((c.name, c.code) for c in SYNTHVID_CLASSES)
