from . import (data_preprocessors, dense_heads, detectors, flownets, memory,  # noqa: F401
               necks, roi_heads)
