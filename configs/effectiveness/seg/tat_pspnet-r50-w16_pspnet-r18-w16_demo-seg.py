# Effectiveness grid, segmentation grid: TaT (patch-group + anchor-point) on the
# PSP bottleneck, the real config with the channels / 4 (32 and 128) and the
# counts for 16 x 16 maps: 2 x 2 patches of 8 x 8 and 4 x 4 anchors of 4 x 4
# positions, as the real 8 x 16 patches and 16 x 32 anchors of 64 x 128 maps;
# weights alpha 1.6, beta 1, gamma 0.4 unchanged.
_base_ = [
    '../../tat/tat_decoder_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes.py',
    './_base_/pspnet-w16_demo-seg.py'
]

model = dict(
    architecture=_base_.bench_student_override,
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its teacher
    distiller=dict(
        distill_losses=dict(
            loss_tat=dict(
                student_channels=32,
                teacher_channels=128,
                patch_counts=(2, 2),
                anchor_counts=(4, 4),
                feat_size=(16, 16)))))
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
