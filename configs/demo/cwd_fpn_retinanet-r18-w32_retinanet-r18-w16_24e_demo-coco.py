# Demo distillation: the width-32 teacher into the width-16 student on the
# FPN outputs P3-P6, with mmrazor's FpnTeacherDistill (the teacher runs its
# backbone and neck only), with mmrazor's ChannelWiseDivergence: the
# `tools/demo.py --method cwd` baseline and the fixture of the runner tests.
_base_ = ['./_base_/demo_coco.py', './_base_/retinanet_r18-tiny.py']

teacher_ckpt = None  # set by tools/demo.py to the trained demo teacher

model = dict(
    _scope_='mmrazor',
    type='FpnTeacherDistill',
    architecture={{_base_.student_model}},
    teacher={{_base_.teacher_model}},
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
