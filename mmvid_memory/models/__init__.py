from . import data_preprocessors, detectors, memory, necks, roi_heads  # noqa: F401
