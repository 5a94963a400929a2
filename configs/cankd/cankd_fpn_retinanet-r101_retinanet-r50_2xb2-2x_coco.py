# CanKD (WACV 2026), RetinaNet R-101 -> RetinaNet R-50 on COCO.
# One CanKD loss (dot-product affinity, mu = 5) on each of the first four FPN
# outputs (P3-P6); the teacher runs backbone + neck only (FpnTeacherDistill).
# The authors' recipe: SGD lr 0.005 for 2 GPUs x 2 images, momentum 0.9,
# wd 1e-4, grad clip 35, 2x schedule (24 epochs, x0.1 at 16 and 22).
# Paper: student 37.4 AP -> CanKD 39.7 AP.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmdet model zoo, RetinaNet R-101-FPN 2x:
# retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth
teacher_ckpt = 'path/to/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'

student = _base_.model

model = dict(
    _scope_='mmrazor',
    _delete_=True,
    type='FpnTeacherDistill',
    architecture=student,
    teacher=dict(
        cfg_path='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        distill_losses=dict(
            loss_cankd_fpn0=dict(
                type='CanKDLoss', in_channels=256, loss_weight=5.0),
            loss_cankd_fpn1=dict(
                type='CanKDLoss', in_channels=256, loss_weight=5.0),
            loss_cankd_fpn2=dict(
                type='CanKDLoss', in_channels=256, loss_weight=5.0),
            loss_cankd_fpn3=dict(
                type='CanKDLoss', in_channels=256, loss_weight=5.0)),
        loss_forward_mappings=dict(
            loss_cankd_fpn0=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=0),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=0)),
            loss_cankd_fpn1=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=1),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=1)),
            loss_cankd_fpn2=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=2),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=2)),
            loss_cankd_fpn3=dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=3),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=3)))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))

# 2 GPUs x 2 images per GPU.
auto_scale_lr = dict(enable=False, base_batch_size=4)
