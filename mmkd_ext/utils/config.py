# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Walking configs: distillation or not, and datasets inside wrappers."""
from collections.abc import Mapping
from typing import Any, Iterator, Tuple

from mmengine.config import Config


def is_distill_config(cfg: Config) -> bool:
    """True for an mmrazor distillation config (student + teacher)."""
    return 'architecture' in cfg.model and 'teacher' in cfg.model


def iter_dataset_cfgs(ds_cfg, key: str) -> Iterator[Tuple[str, dict]]:
    """Yield (config key, dataset config) of every dataset inside the
    wrappers (``dataset=`` of e.g. ``RepeatDataset``, ``datasets=`` of
    ``ConcatDataset``); ``key`` is the config key of ``ds_cfg``."""
    if ds_cfg is None:
        return
    if 'datasets' in ds_cfg:
        for i, sub in enumerate(ds_cfg['datasets']):
            yield from iter_dataset_cfgs(sub, f'{key}.datasets[{i}]')
    elif 'dataset' in ds_cfg:
        yield from iter_dataset_cfgs(ds_cfg['dataset'], f'{key}.dataset')
    else:
        yield key, ds_cfg


def _field(dataset, name: str) -> Any:
    if isinstance(dataset, Mapping):
        return dataset.get(name)
    return getattr(dataset, name, None)


def pipeline_dataset(dataset, key: str) -> Tuple[Any, str]:
    """The dataset that holds the pipeline, through ``dataset=`` wrappers.

    Args:
        dataset: A dataset config (dict) or a built dataset.
        key (str): The config key of ``dataset``, for the error message.

    Returns:
        tuple: The inner dataset (config or object) and its config key.

    Raises:
        ValueError: No pipeline on the way (e.g. a concatenated set).
    """
    while _field(dataset, 'pipeline') is None:
        inner = _field(dataset, 'dataset')
        if inner is None:
            kind = (dataset.get('type') if isinstance(dataset, Mapping) else
                    type(dataset).__name__)
            raise ValueError(f'{key}: no pipeline found in the dataset '
                             f'({kind}); concatenated sets are not '
                             'supported')
        dataset, key = inner, f'{key}.dataset'
    return dataset, key
