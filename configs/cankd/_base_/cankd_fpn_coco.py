# Shared part (not a config of its own) of the CanKD FPN configs on COCO,
# cankd_fpn_{faster-rcnn,retinanet,reppoints}-*: the distiller, one CanKD loss
# (dot-product affinity, mu = 5) on each of the first four FPN outputs (neck
# outputs 0-3, 256 channels on both sides: P2-P5 for Faster R-CNN, P3-P6 for
# RetinaNet and RepPoints).
# Each config lists this file after its mmdet student config in `_base_` and
# sets `model.distiller=_base_.cankd_distiller`: the student config
# already has a `model` and mmengine allows a key in only one base of a
# config, hence the helper name (it stays in the built config as an
# unread top-level key).
custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

cankd_distiller = dict(
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
            t_feature=dict(from_student=False, recorder='fpn', data_idx=0)),
        loss_cankd_fpn1=dict(
            s_feature=dict(from_student=True, recorder='fpn', data_idx=1),
            t_feature=dict(from_student=False, recorder='fpn', data_idx=1)),
        loss_cankd_fpn2=dict(
            s_feature=dict(from_student=True, recorder='fpn', data_idx=2),
            t_feature=dict(from_student=False, recorder='fpn', data_idx=2)),
        loss_cankd_fpn3=dict(
            s_feature=dict(from_student=True, recorder='fpn', data_idx=3),
            t_feature=dict(from_student=False, recorder='fpn', data_idx=3))))

find_unused_parameters = True
