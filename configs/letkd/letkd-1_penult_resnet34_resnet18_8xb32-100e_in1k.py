# letKD-1 (arXiv 2309.02843), ResNet-34 -> ResNet-18 on ImageNet-1k.
# One KD layer on the student's last map before global pooling
# (backbone.layer4, 512 x 7 x 7), K = 4096 templates, alpha = 1; teacher
# targets p_T = softmax(-tau * |f - rho|^2), tau = 1, over the K-means
# centers rho of the teacher's layer4 pixels. Loss = CE + 1 * KL.
# Paper (supplement Table 2): 72.33 top-1 / 91.06 top-5.
# Schedule (supplement): SGD Nesterov momentum 0.9, lr 0.1 /10 at epochs
# 30/60/90, 100 epochs; batch 256 (8 GPUs x 32) and wd 1e-4 as in QuEST.
#
# Before training, compute the teacher statistics once:
#   python tools/letkd_prepare.py THIS_CONFIG   (writes `letkd_file`)
_base_ = ['../_base_/resnet34_resnet18_8xb32-100e_in1k.py']

# The base (the shared ImageNet pair) sets the data, the schedule, the
# teacher (torchvision ResNet-34, see configs/wttm/README.md) and the
# ResNet-18 classifier; here the classifier is wrapped in LetKDStudent with
# the KD layer, the KD layer's recorders and loss are added and SGD uses
# Nesterov momentum.

# Written by tools/letkd_prepare.py from `letkd_targets` (what each target is
# computed from); the losses read the target's description (K, channels)
# from the file, and training refuses a file computed for another teacher
# checkpoint or teacher module, or one whose K or channels do not fit the
# recorded maps.
letkd_file = 'work_dirs/letkd_targets/letkd_resnet34_in1k_penult.pth'
letkd_targets = dict(
    penult=dict(
        kind='penultimate',
        teacher_module='backbone.layer4',
        channels=512,
        num_templates=4096))

model = dict(
    type='LetKDDistill',
    architecture=dict(
        # The KD layer is part of the student (kept at test time).
        _delete_=True,
        type='mmrazor.LetKDStudent',
        model=_base_.model.architecture,
        layers=dict(
            penult=dict(
                module='backbone.layer4',
                in_channels=512,
                num_templates=4096,
                alpha=1.0))),
    distiller=dict(
        student_recorders=dict(
            penult=dict(type='ModuleOutputs', source='letkd.penult.conv1')),
        teacher_recorders=dict(
            penult=dict(type='ModuleOutputs', source='backbone.layer4')),
        distill_losses=dict(
            loss_letkd_penult=dict(
                type='LetKDLoss',
                target_file=letkd_file,
                target='penult',
                tau=1.0,
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_letkd_penult=dict(
                s_logits=dict(from_student=True, recorder='penult'),
                t_feats=dict(from_student=False, recorder='penult')))))

optim_wrapper = dict(optimizer=dict(nesterov=True))
