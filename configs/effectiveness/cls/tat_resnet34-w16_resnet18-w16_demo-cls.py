# Effectiveness grid, classification grid: TaT on layer4, the real config (TaT +
# CE 0.1) except the channels (128) and the schedule; the real recipe fine-
# tunes a pretrained student with AdamW, here the student starts from the
# grid's initialisation.
_base_ = [
    '../../tat/tat_backbone_resnet34_resnet18_8xb256-100e_in1k.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

model = dict(
    architecture=_base_.bench_student_override,
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its trained teacher
    data_preprocessor=_base_.bench_data_preprocessor,
    distiller=dict(
        distill_losses=dict(
            loss_tat=dict(student_channels=128, teacher_channels=128))))
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
