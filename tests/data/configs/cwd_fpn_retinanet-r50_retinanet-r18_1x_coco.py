# RetinaNet R50 -> RetinaNet R18 with mmrazor's ChannelWiseDivergence on the
# FPN outputs, built entirely from mmdet's shipped configs (test fixture).
_base_ = ['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

teacher_ckpt = None

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='FpnTeacherDistill',
    architecture=dict(
        cfg_path='mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
        pretrained=False),
    teacher=dict(
        cfg_path='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        distill_losses={
            f'loss_fpn{i}': dict(
                type='ChannelWiseDivergence', tau=1, loss_weight=3)
            for i in range(4)
        },
        loss_forward_mappings={
            f'loss_fpn{i}': dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx=i),
                preds_T=dict(from_student=False, recorder='fpn', data_idx=i))
            for i in range(4)
        }))

find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
