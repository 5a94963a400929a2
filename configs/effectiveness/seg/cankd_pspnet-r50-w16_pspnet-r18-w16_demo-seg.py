# Effectiveness grid, segmentation grid: CanKD on layer4, the real config with
# the channels / 4 (connector 128 -> 512, as 512 -> 2048).
_base_ = [
    '../../cankd/cankd_backbone_pspnet-r101-d8_pspnet-r18-d8_2xb2-80k_cityscapes.py',
    './_base_/pspnet-w16_demo-seg.py'
]

model = dict(
    architecture=_base_.bench_student_override,
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its teacher
    distiller=dict(
        connectors=dict(
            loss_cankd_sfeat=dict(in_channel=128, out_channel=512)),
        distill_losses=dict(loss_cankd=dict(in_channels=512))))
# mmengine's Runner gives this to the algorithm, which has none.
data_preprocessor = dict(size=_base_.bench_crop)
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = dict(_delete_=True, **_base_.bench_train_cfg)
default_hooks = _base_.bench_default_hooks
