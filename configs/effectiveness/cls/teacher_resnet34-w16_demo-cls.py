# Effectiveness grid, classification grid: the teacher (ResNet-34 layout, 16 base
# channels), trained once by the grid tool with a fixed seed and
# bench_teacher_epochs (a longer schedule than the students').
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

model = dict(
    _base_.bench_teacher,
    data_preprocessor=_base_.bench_model_data_preprocessor)
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = _base_.bench_optim_wrapper
param_scheduler = _base_.bench_teacher_param_scheduler
train_cfg = _base_.bench_teacher_train_cfg
val_cfg = dict()
test_cfg = dict()
default_hooks = _base_.bench_teacher_default_hooks
