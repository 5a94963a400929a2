# Effectiveness grid, detection grid (RetinaNet): the teacher: the demo's
# width-32 RetinaNet, trained once by the grid tool with a fixed seed.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_2x_coco.py',
    '../../demo/_base_/retinanet_r18-tiny.py',
    './_base_/demo-coco.py'
]

model = dict(_delete_=True, **_base_.teacher_model)
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_teacher_param_scheduler
train_cfg = _base_.bench_teacher_train_cfg
default_hooks = _base_.bench_teacher_default_hooks
auto_scale_lr = dict(enable=False)
