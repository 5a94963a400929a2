# Effectiveness grid, detection grid (RetinaNet): letKD-1 on P3-P7, the real
# config (one KD layer per level, tau 1, weights 1) with 64 channels and 256
# templates instead of 1024 (the demo set has 341 teacher vectors per image,
# COCO ~100 times more). The grid tool computes the targets file from its
# trained teacher and passes its path.
_base_ = [
    '../../letkd/letkd-1_fpn_retinanet-r101_retinanet-r50_8xb2-2x_coco.py',
    '../../demo/_base_/retinanet_r18-tiny.py',
    './_base_/demo-coco.py'
]

letkd_targets = dict(fpn=dict(channels=64, num_templates=256))

model = dict(
    architecture=dict(
        model=dict(_delete_=True, **_base_.student_model),
        layers=dict(fpn=dict(in_channels=64, num_templates=256))),
    teacher=dict(_delete_=True, **_base_.teacher_model),
    teacher_ckpt=None)  # the grid tool passes its teacher
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
auto_scale_lr = dict(enable=False)
