# Effectiveness grid, segmentation grid: DKD + Z-score on per-pixel logits
# (ignore 255), the real config unchanged.
_base_ = [
    '../../zscore/dkd-zscore_logits_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes.py',
    './_base_/pspnet-w16_demo-seg.py'
]

model = dict(
    architecture=_base_.bench_student_override,
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None)  # the grid tool passes its teacher
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
