# Effectiveness grid, classification grid: letKD-1, the real config (KD layer
# on layer4, tau 1, weights 1) with the sizes of the tiny models: 128
# channels and 256 K-means templates instead of 4096 (the 720 training crops
# give 11520 teacher vectors of 4x4 maps; 4096 centres would hold ~3 each).
# The grid tool computes the targets file from its trained teacher
# (tools/letkd_prepare.py's LetKDPreparer) and passes its path.
_base_ = [
    '../../letkd/letkd-1_penult_resnet34_resnet18_8xb32-100e_in1k.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

letkd_targets = dict(penult=dict(channels=128, num_templates=256))
model = dict(
    architecture=dict(
        model=_base_.bench_student_override,
        layers=dict(penult=dict(in_channels=128, num_templates=256))),
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its trained teacher
    data_preprocessor=_base_.bench_data_preprocessor)
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
