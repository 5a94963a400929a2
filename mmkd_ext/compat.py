# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Compatibility patches for the pinned OpenMMLab stack on current torch.

mmrazor 1.0.0 and mmengine 0.10.7 were released for torch 1.x/2.0. On the
torch we pin (see ``requirements/pins.txt``) four things break. Each patch
below is the smallest change that restores the original behaviour; none
edits an installed file. :func:`apply` runs on ``import mmkd_ext`` and must
run before mmrazor is imported (``mmkd_ext/__init__.py`` does this). Where
mmrazor is imported first by code that is not ours (mmrazor's own
``tools/train.py``), the start-up hook installed with the package
(``mmkd_ext_autopatch.py``) applies them just before.

``tests/test_compat.py`` shows, for each patch, the upstream failure without
it (in a fresh interpreter) and that the patched call works.
"""
import importlib

_APPLIED = False


def _fuser_method_aliases() -> None:
    """mmrazor imports ``reverse2``, ``reverse3`` and
    ``reverse_sequential_wrapper2`` from
    ``torch.ao.quantization.fuser_method_mappings``; torch renamed them to
    ``_reverse2``, ``_reverse3`` and ``_sequential_wrapper2`` (torch 2.0).
    Without them mmrazor's quantization backend configs fall back to
    placeholders and ``import mmrazor.models`` fails at module level."""
    fmm = importlib.import_module(
        'torch.ao.quantization.fuser_method_mappings')
    for old, new in (('reverse2', '_reverse2'), ('reverse3', '_reverse3'),
                     ('reverse_sequential_wrapper2', '_sequential_wrapper2')):
        if not hasattr(fmm, old) and hasattr(fmm, new):
            setattr(fmm, old, getattr(fmm, new))


def _backend_config_utils() -> None:
    """mmrazor accesses ``torch.ao.quantization.backend_config.utils`` as an
    attribute of the package, which current torch no longer imports
    eagerly; importing the submodule makes the attribute exist."""
    importlib.import_module('torch.ao.quantization.backend_config.utils')


def _backend_pattern_private_setters() -> None:
    """mmrazor's default quantization backend configs, built when
    ``mmrazor.models`` is imported, chain the private setters
    ``_set_overwrite_output_fake_quantize``,
    ``_set_overwrite_output_observer`` and ``_set_input_output_observed`` of
    torch's ``BackendPatternConfig``, which torch removed together with the
    attributes they set (torch 2.1). Restore them as the torch 2.0 versions
    were: store the value on the config and return it for chaining. Nothing
    in torch reads these attributes any more, so quantization behaviour is
    unchanged; distillation never uses them."""
    from torch.ao.quantization.backend_config import BackendPatternConfig

    def _setter(attr: str):

        def set_value(self, value):
            setattr(self, attr, value)
            return self

        set_value.__name__ = '_set' + attr
        return set_value

    for attr in ('_overwrite_output_fake_quantize',
                 '_overwrite_output_observer', '_input_output_observed'):
        if not hasattr(BackendPatternConfig, '_set' + attr):
            setattr(BackendPatternConfig, '_set' + attr, _setter(attr))


def _checkpoint_loader_weights_only() -> None:
    """torch >= 2.6 defaults ``torch.load(weights_only=True)``. mmengine's
    local checkpoint loader calls ``torch.load`` without the argument, and
    the checkpoints mmengine itself writes (message hub with numpy scalars,
    ``HistoryBuffer``, optimizer and scheduler states) are then rejected, so
    ``--resume`` and ``load_from`` fail. Re-register mmengine's local (and
    ``file://``-less) scheme with ``weights_only=False``: the behaviour of
    torch < 2.6, for which mmengine was written. As before, only load
    checkpoints you trust."""
    import torch
    from mmengine.runner.checkpoint import CheckpointLoader

    def load_from_local(filename: str, map_location=None):
        import os.path as osp
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(f'{filename} can not be found.')
        return torch.load(
            filename, map_location=map_location, weights_only=False)

    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)


def apply() -> None:
    """Apply every patch once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    _fuser_method_aliases()
    _backend_config_utils()
    _backend_pattern_private_setters()
    _checkpoint_loader_weights_only()
    _APPLIED = True
