# Effectiveness grid, detection grid (RetinaNet): mmrazor's CWD baseline,
# mmrazor's own RetinaNet R101 -> R50 config (P3-P7, tau 1, weight 10) with the
# demo's models. Its ConfigurableDistiller is swapped for our drop-in
# CheckedDistiller (same losses and recorders) so that a run without the grid
# tool's teacher checkpoint is refused instead of distilling a random teacher.
_base_ = [
    'mmrazor::distill/mmdet/cwd/cwd_fpn_retina_r101_retina_r50_1x_coco.py',
    '../../demo/_base_/retinanet_r18-tiny.py',
    './_base_/demo-coco.py'
]

model = dict(
    architecture=dict(_delete_=True, **_base_.student_model),
    teacher=dict(_delete_=True, **_base_.teacher_model),
    teacher_ckpt=None,  # the grid tool passes its teacher
    distiller=dict(type='CheckedDistiller'))
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
