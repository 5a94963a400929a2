# Effectiveness grid, classification grid: TaT on layer4, the real config
# except the channels (128), the loss weights (below) and the schedule; the
# real recipe fine-tunes a pretrained student with AdamW, here the student
# starts from the grid's initialisation and trains with the grid's SGD.
_base_ = [
    '../../tat/tat_backbone_resnet34_resnet18_8xb256-100e_in1k.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

# Loss weights chosen on the held-out split (tools/effectiveness_grid.py
# --holdout --task cls --seeds 1 --methods tat [--cfg-options ...]: trained
# on train_fit, tested on train_holdout, seed 0; the student alone 30.56,
# the teacher 52.22 top-1 %; one seed, so differences of ~3 points are
# noise):
# the authors' ImageNet weights (CE 0.1, TaT 0.2) 15.00; CE 1 + TaT 0.2:
# 29.44; CE 1 + TaT 2: 32.22 (chosen: the authors' 1 : 2 ratio). Their
# recipe uses AdamW, whose updates do not depend on a common scale of the
# losses; under the grid's SGD a CE weight of 0.1 is a 10x smaller
# learning rate, and the classifier stayed at chance (CE ln 9).
model = dict(
    architecture=dict(
        _base_.bench_student_override,
        head=dict(
            _base_.bench_student_override.head,
            loss=dict(loss_weight=1.0))),
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its trained teacher
    data_preprocessor=_base_.bench_data_preprocessor,
    distiller=dict(
        distill_losses=dict(
            loss_tat=dict(
                student_channels=128, teacher_channels=128,
                loss_weight=2.0))))
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
