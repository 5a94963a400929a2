# Effectiveness grid, classification grid: letKD-2, the real config (KD layers
# on layer4.0 and layer4, weights 1) with the sizes of the tiny models and of
# the 9-class set: 128 channels, 256 penultimate templates (see letKD-1),
# 9 x 8 intermediate sub-classes and LDA to 8 dimensions (LDA of 9 classes
# has at most 8; the real config keeps 60 of ImageNet's 999).
_base_ = [
    '../../letkd/letkd-2_inter-penult_resnet34_resnet18_8xb32-100e_in1k.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

letkd_targets = dict(
    penult=dict(channels=128, num_templates=256),
    inter=dict(channels=128, num_classes=9, num_subclasses=8, lda_dim=8))
model = dict(
    architecture=dict(
        model=_base_.bench_student_override,
        layers=dict(
            penult=dict(in_channels=128, num_templates=256),
            inter=dict(in_channels=128, num_templates=72))),
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
