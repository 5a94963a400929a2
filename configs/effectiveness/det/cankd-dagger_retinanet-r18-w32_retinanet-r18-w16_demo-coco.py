# Effectiveness grid, detection grid (RetinaNet): CanKD-dagger: CanKD with the
# student's FPN and head initialised from the teacher (init_cfg Pretrained with
# the teacher checkpoint, as the real config; the grid tool replaces every
# occurrence of teacher_ckpt below by its trained teacher). Unlike R101 -> R50,
# the demo's width-32 teacher and width-16 student differ in backbone channels,
# so the FPN's lateral 1x1 convolutions and the P6 convolution on C5 do not
# match and keep their initialisation (mmengine loads the other FPN weights
# and the whole head, and warns).
_base_ = [
    '../../cankd/cankd-dagger_fpn_retinanet-r101_retinanet-r50_2xb2-2x_coco.py',
    '../../demo/_base_/retinanet_r18-tiny.py',
    './_base_/demo-coco.py'
]

teacher_ckpt = 'work_dirs/effectiveness/det/retinanet/teacher/teacher.pth'

model = dict(
    architecture=dict(
        _delete_=True,
        **dict(
            _base_.student_model,
            neck=dict(
                _base_.student_model.neck,
                init_cfg=dict(
                    type='Pretrained', prefix='neck.',
                    checkpoint=teacher_ckpt)),
            bbox_head=dict(
                _base_.student_model.bbox_head,
                init_cfg=dict(
                    type='Pretrained', prefix='bbox_head.',
                    checkpoint=teacher_ckpt)))),
    teacher=dict(_delete_=True, **_base_.teacher_model),
    teacher_ckpt=teacher_ckpt,  # replaced by the grid tool's teacher
    distiller=dict(
        distill_losses={
            f'loss_cankd_fpn{i}': dict(in_channels=64)
            for i in range(4)
        }))
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
auto_scale_lr = dict(enable=False)
