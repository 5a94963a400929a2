# Copyright (c) mmkd_ext contributors. All rights reserved.
"""the effectiveness grid's grid: tasks, model families, configs and data.

Every family has a teacher (trained once, seed :data:`TEACHER_SEED`), a
student trained alone and the distillation methods, all configs under
``configs/effectiveness/<task>/`` (they inherit the real method configs, see
those files). :func:`data_options` points a config at the generated set of
its task (or at the held-out split of the training images).
"""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'effectiveness')
TASKS = ('det', 'seg', 'cls')
TEACHER_SEED = 0
#: Factor from a metric as mmengine logs it to the table's unit.
METRIC_SCALE = {'coco/bbox_mAP': 100}
#: Written last by a training run: its presence marks the run finished.
METRICS_FILE = 'metrics.json'
STUDENT = 'student'
TEACHER = 'teacher'


@dataclass(frozen=True)
class Family:
    """One teacher / student pair of a task and its distillation methods.

    Attributes:
        task (str): 'det', 'seg' or 'cls'.
        name (str): e.g. 'retinanet'.
        teacher (str): Teacher config, relative to ``configs/effectiveness``.
        student (str): Student-alone config.
        methods (tuple): (method name, config) pairs.
        metric (str): The test metric reported (higher is better).
    """
    task: str
    name: str
    teacher: str
    student: str
    methods: Tuple[Tuple[str, str], ...]
    metric: str

    def config(self, method: str) -> str:
        """Absolute path of the config of ``method`` (or teacher / student).
        """
        rel = dict(self.methods, teacher=self.teacher,
                   student=self.student)[method]
        return osp.join(CONFIG_DIR, rel)


def _methods(pattern: str,
             names: Sequence[str]) -> Tuple[Tuple[str, str], ...]:
    return tuple((n, pattern.format(n)) for n in names)


GRID: Dict[str, List[Family]] = dict(
    cls=[
        Family(
            task='cls',
            name='resnet',
            teacher='cls/teacher_resnet34-w16_demo-cls.py',
            student='cls/student_resnet18-w16_demo-cls.py',
            methods=_methods(
                'cls/{}_resnet34-w16_resnet18-w16_demo-cls.py',
                ('kd', 'kd-zscore', 'dkd', 'dkd-zscore', 'wttm', 'ttm',
                 'mlkd', 'ctkd', 'cankd', 'tat', 'letkd-1', 'letkd-2')),
            metric='accuracy/top1')
    ],
    seg=[
        Family(
            task='seg',
            name='pspnet',
            teacher='seg/teacher_pspnet-r50-w16_demo-seg.py',
            student='seg/student_pspnet-r18-w16_demo-seg.py',
            methods=_methods(
                'seg/{}_pspnet-r50-w16_pspnet-r18-w16_demo-seg.py',
                ('cwd', 'cankd', 'tat', 'letkd-2', 'wttm', 'ttm',
                 'kd-zscore', 'dkd-zscore')),
            metric='mIoU')
    ],
    det=[
        Family(
            task='det',
            name='retinanet',
            teacher='det/teacher_retinanet-r18-w32_demo-coco.py',
            student='det/student_retinanet-r18-w16_demo-coco.py',
            methods=_methods(
                'det/{}_retinanet-r18-w32_retinanet-r18-w16_demo-coco.py',
                ('cwd', 'cankd', 'cankd-dagger', 'tat', 'letkd-1')),
            metric='coco/bbox_mAP'),
        Family(
            task='det',
            name='faster-rcnn',
            teacher='det/teacher_faster-rcnn-r18-w32_demo-coco.py',
            student='det/student_faster-rcnn-r18-w16_demo-coco.py',
            methods=_methods(
                'det/{}_faster-rcnn-r18-w32_faster-rcnn-r18-w16_demo-coco.py',
                ('kd', 'dkd', 'dkd-zscore', 'wttm')),
            metric='coco/bbox_mAP')
    ],
)

#: Sizes of the generated sets (images; crops for cls).
DATA_SIZES = dict(
    det=dict(num_train=160, num_val=60),
    seg=dict(num_train=120, num_val=40, img_size=(128, 128)),
    cls=dict(num_train=900, num_val=450))


def families(tasks: Sequence[str]) -> List[Family]:
    """The families of ``tasks`` in grid order."""
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f'unknown task(s) {sorted(unknown)}: use '
                         f'{", ".join(TASKS)}')
    return [fam for task in TASKS if task in tasks for fam in GRID[task]]


def make_data(task: str, root: str, num_train: Optional[int] = None,
              num_val: Optional[int] = None) -> None:
    """Generate the set of ``task`` under ``root`` (with its held-out
    split of the training images)."""
    from mmkd_ext.datasets import (
        make_demo_cls,
        make_demo_coco,
        make_demo_seg,
        write_coco_holdout,
    )
    sizes = dict(DATA_SIZES[task])
    if num_train:
        sizes['num_train'] = num_train
    if num_val:
        sizes['num_val'] = num_val
    if task == 'det':
        out = make_demo_coco(root, **sizes)
        write_coco_holdout(out['train_ann'])
    elif task == 'seg':
        make_demo_seg(root, **sizes)
    else:
        make_demo_cls(root, **sizes)


def data_options(task: str, root: str, holdout: bool = False) -> Dict:
    """``cfg.merge_from_dict`` options pointing a grid config at the set of
    ``task`` in ``root``: train on ``train`` and test on ``val``, or with
    ``holdout`` train on ``train_fit`` and test on ``train_holdout`` (for
    choosing loss weights without the reported split)."""
    root = osp.abspath(root) + '/'
    train, test = ('train_fit', 'train_holdout') if holdout else ('train',
                                                                  'val')
    test_dir = 'train' if holdout else 'val'
    opts: Dict = {}
    loaders = (('train_dataloader', train, 'train'),
               ('val_dataloader', test, test_dir), ('test_dataloader', test,
                                                    test_dir))
    for key, split, folder in loaders:
        ds = f'{key}.dataset'
        opts[f'{ds}.data_root'] = root
        if task == 'cls':
            opts[f'{ds}.split'] = folder
            opts[f'{ds}.ann_file'] = f'meta/{split}.txt'
        elif task == 'seg':
            opts[f'{ds}.ann_file'] = f'splits/{split}.txt'
            opts[f'{ds}.data_prefix'] = dict(
                img_path=f'img_dir/{folder}', seg_map_path=f'ann_dir/{folder}')
        else:
            opts[f'{ds}.ann_file'] = f'annotations/instances_{split}.json'
            opts[f'{ds}.data_prefix'] = dict(img=f'{folder}/')
    if task == 'det':
        for key in ('val_evaluator', 'test_evaluator'):
            opts[f'{key}.ann_file'] = (
                f'{root}annotations/instances_{test}.json')
    return opts
