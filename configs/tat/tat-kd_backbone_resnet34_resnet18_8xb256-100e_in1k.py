# TaT (CVPR 2022) with KD, ResNet-34 -> ResNet-18 on ImageNet-1k, as the
# authors' torchdistill config `resnet18_from_resnet34_attn_w_kd.yaml`:
# 0.5 * CE + 0.5 * KL(T = 1, batch mean) + 0.1 * L_TaT; everything else as
# tat_backbone_resnet34_resnet18_8xb256-100e_in1k.py.
_base_ = ['./tat_backbone_resnet34_resnet18_8xb256-100e_in1k.py']

model = dict(
    architecture=dict(
        head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=0.5))),
    distiller=dict(
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_tat=dict(loss_weight=0.1),
            loss_kl=dict(
                type='KLDivergence',
                tau=1.0,
                reduction='batchmean',
                loss_weight=0.5)),
        loss_forward_mappings=dict(
            loss_kl=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))
