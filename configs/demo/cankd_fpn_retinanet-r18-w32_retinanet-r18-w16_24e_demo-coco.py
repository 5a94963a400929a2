# Demo distillation with CanKD: the width-32 teacher into the width-16
# student on the first four FPN outputs, through mmrazor's FpnTeacherDistill
# (the teacher runs its backbone and neck only), as the CanKD detection
# configs do. mu = 5 per level (the authors' loss_weight=10 on a halved MSE).
_base_ = ['./_base_/demo_coco.py', './_base_/retinanet_r18-tiny.py']

# Required: tools/demo.py passes the demo teacher it trained; with
# tools/train.py, --cfg-options model.teacher_ckpt=PATH (without it the build
# stops: CheckedDistiller refuses a random teacher).
teacher_ckpt = None

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
            f'loss_cankd_fpn{i}': dict(
                type='CanKDLoss', in_channels=64, loss_weight=5.0)
            for i in range(4)
        },
        loss_forward_mappings={
            f'loss_cankd_fpn{i}': dict(
                s_feature=dict(from_student=True, recorder='fpn', data_idx=i),
                t_feature=dict(from_student=False, recorder='fpn', data_idx=i))
            for i in range(4)
        }))

find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
