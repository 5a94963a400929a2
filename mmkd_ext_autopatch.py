# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Start-up hook: apply :mod:`mmkd_ext.compat` before mmrazor is imported.

mmrazor 1.0.0 cannot be imported on the torch we pin without the patches of
``mmkd_ext/compat.py``, and entry points that are not ours (mmrazor's own
``tools/train.py``, ``mim train mmrazor ...``) import it before a config's
``custom_imports`` could import ``mmkd_ext``. Installing mmkd_ext therefore
installs ``mmkd_ext-autopatch.pth`` (the line :data:`PTH_LINE`) next to this
module in site-packages; Python runs that line at start-up, and
:func:`install` puts a finder at the front of ``sys.meta_path`` that does
nothing until ``mmrazor`` itself is imported. Then, before mmrazor's
``__init__`` runs, it loads ``compat.py`` from the installed mmkd_ext as
``mmkd_ext.compat`` (without importing the rest of mmkd_ext) and applies it;
``import mmkd_ext`` later finds the same, already applied, module.

Start-up cost: importing this module (standard library only) and one string
comparison per import. Nothing else is imported until mmrazor is.

Turn it off with the environment variable ``MMKD_EXT_NO_AUTOPATCH=1`` (any
value except empty and ``0``); ``import mmkd_ext`` still applies the patches
as before, so our own tools and configs keep working.

This is a top-level module, not part of the ``mmkd_ext`` package: importing
anything from that package runs its ``__init__``, which imports torch and
mmrazor.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Optional, Sequence

ENV_OFF = 'MMKD_EXT_NO_AUTOPATCH'
TRIGGER = 'mmrazor'
PTH_NAME = 'mmkd_ext-autopatch.pth'
PTH_LINE = 'import mmkd_ext_autopatch; mmkd_ext_autopatch.install()\n'


def disabled() -> bool:
    """Whether ``MMKD_EXT_NO_AUTOPATCH`` turns the hook off."""
    return os.environ.get(ENV_OFF, '') not in ('', '0')


def apply_compat() -> ModuleType:
    """Load ``mmkd_ext/compat.py`` as ``mmkd_ext.compat`` (registered in
    ``sys.modules``, so that ``import mmkd_ext`` reuses it) without running
    ``mmkd_ext/__init__.py``, and apply its patches."""
    module = sys.modules.get('mmkd_ext.compat')
    if module is None:
        package = importlib.util.find_spec('mmkd_ext')
        if package is None or not package.submodule_search_locations:
            raise ImportError(
                f'{PTH_NAME}: the mmkd_ext package is not importable; '
                f'uninstall mmkd_ext or set {ENV_OFF}=1')
        path = os.path.join(package.submodule_search_locations[0],
                            'compat.py')
        spec = importlib.util.spec_from_file_location('mmkd_ext.compat', path)
        module = importlib.util.module_from_spec(spec)
        sys.modules['mmkd_ext.compat'] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules['mmkd_ext.compat']
            raise
    module.apply()
    return module


class _PatchFirstLoader(importlib.abc.Loader):
    """Wraps mmrazor's own loader: applies the patches, then hands the
    module back to that loader (which then stays its ``__loader__``)."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec):
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        try:
            apply_compat()
        except Exception as exc:
            raise ImportError(
                f'{PTH_NAME}: applying mmkd_ext.compat before importing '
                f'{TRIGGER} failed ({type(exc).__name__}: {exc}); set '
                f'{ENV_OFF}=1 to import {TRIGGER} without it') from exc
        self.loader.exec_module(module)


class AutopatchFinder(importlib.abc.MetaPathFinder):
    """One-shot ``sys.meta_path`` finder for :data:`TRIGGER`."""

    def find_spec(self,
                  fullname: str,
                  path: Optional[Sequence[str]] = None,
                  target: Optional[ModuleType] = None):
        if fullname != TRIGGER:
            return None
        # One shot: the real finders locate mmrazor from here on.
        uninstall()
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchFirstLoader(spec.loader)
        return spec


def installed() -> bool:
    """Whether the finder is waiting on ``sys.meta_path``."""
    return any(isinstance(f, AutopatchFinder) for f in sys.meta_path)


def install() -> None:
    """Called by the ``.pth`` line at start-up: wait for mmrazor's import
    (unless turned off, or mmrazor is already imported)."""
    if disabled() or TRIGGER in sys.modules or installed():
        return
    sys.meta_path.insert(0, AutopatchFinder())


def uninstall() -> None:
    """Remove the finder (a no-op when it is not installed)."""
    sys.meta_path[:] = [
        f for f in sys.meta_path if not isinstance(f, AutopatchFinder)
    ]
