# Effectiveness grid, segmentation grid: the student alone (mmseg's PSPNet-R18
# config made small), same model, data, schedule and initialisation as every
# distillation of the grid.
_base_ = [
    'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
    './_base_/pspnet-w16_demo-seg.py'
]

model = _base_.bench_student_override
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = dict(_delete_=True, **_base_.bench_train_cfg)
default_hooks = _base_.bench_default_hooks
