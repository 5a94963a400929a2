# Copyright (c) mmkd_ext contributors. All rights reserved.
"""mmkd_ext: knowledge-distillation methods for OpenMMLab (mmrazor 1.x).

Importing the package applies the compatibility patches of
:mod:`mmkd_ext.compat` (they must precede the first mmrazor import) and
registers every loss, KD layer, backbone, distiller, transform and hook in
the mmrazor / mmpretrain / mmengine registries.
"""
from . import compat

compat.apply()

from . import datasets, engine, models, robustness  # noqa: E402,F401

__version__ = '0.1.0'
