# letKD-2 (arXiv 2309.02843), ResNet-34 -> ResNet-18 on ImageNet-1k.
# letKD-1 (KD layer on backbone.layer4, K = 4096, see
# letkd-1_penult_resnet34_resnet18_8xb32-100e_in1k.py) plus an intermediate
# KD layer after the first block of the last stage (backbone.layer4.0 of
# student and teacher, 512 x 7 x 7) with K = 1000 classes x 8 sub-classes
# templates; its targets are rows of the teacher's sub-class score table
# (LDA to 60 dims, per-class K-means, label-restricted nearest sub-class).
# The position layer4.0 is our reading of the authors' CIFAR rule (first
# block of the last stage); the paper has no ImageNet letKD code.
# Loss = CE + 1 * KL_penult + 1 * KL_inter, alpha = (1, 1).
# Paper (supplement Table 2): 72.38 top-1 / 91.15 top-5.
#
# Before training, compute the teacher statistics once:
#   python tools/letkd_prepare.py THIS_CONFIG   (writes `letkd_file`)
_base_ = ['./letkd-1_penult_resnet34_resnet18_8xb32-100e_in1k.py']

letkd_file = 'work_dirs/letkd_targets/letkd_resnet34_in1k_inter-penult.pth'
# the base's penultimate target and the intermediate one
letkd_targets = dict(
    inter=dict(
        kind='intermediate',
        teacher_module='backbone.layer4.0',
        channels=512,
        num_classes=1000,
        num_subclasses=8,
        lda_dim=60))

model = dict(
    architecture=dict(
        layers=dict(
            inter=dict(
                module='backbone.layer4.0',
                in_channels=512,
                num_templates=8000,
                alpha=1.0))),
    distiller=dict(
        student_recorders=dict(
            inter=dict(type='ModuleOutputs', source='letkd.inter.conv1'),
            # the student's inputs: (images, data samples with the labels)
            inputs=dict(type='ModuleInputs', source='')),
        teacher_recorders=dict(
            inter=dict(type='ModuleOutputs', source='backbone.layer4.0')),
        distill_losses=dict(
            loss_letkd_penult=dict(target_file=letkd_file),
            loss_letkd_inter=dict(
                type='LetKDLoss',
                target_file=letkd_file,
                target='inter',
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_letkd_inter=dict(
                s_logits=dict(from_student=True, recorder='inter'),
                t_feats=dict(from_student=False, recorder='inter'),
                data_samples=dict(
                    from_student=True, recorder='inputs', data_idx=1)))))
