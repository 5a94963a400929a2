# Effectiveness grid, segmentation grid: letKD-2 (pixel labels, ignore 255), the
# real config with the channels / 4 and the sizes of the 4-class set: 4 x 8
# intermediate sub-classes, LDA to 3 dimensions (LDA of 4 classes has at most
# 3), 256 penultimate templates instead of 1024 (the grid's set has ~1/4000 of
# Cityscapes' pixel vectors). The grid tool computes the targets file from
# its trained teacher and passes its path.
_base_ = [
    '../../letkd/letkd-2_inter-penult_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes.py',
    './_base_/pspnet-w16_demo-seg.py'
]

letkd_targets = dict(
    penult=dict(channels=128, num_templates=256),
    inter=dict(channels=512, num_classes=4, num_subclasses=8, lda_dim=3))
model = dict(
    architecture=dict(
        model=_base_.bench_student_override,
        layers=dict(
            inter=dict(in_channels=128, num_templates=32),
            penult=dict(in_channels=32, num_templates=256))),
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
