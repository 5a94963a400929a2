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
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py'
]

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# torchvision ResNet34_Weights.IMAGENET1K_V1 (73.31 top-1) converted to
# mmpretrain keys, see configs/wttm/README.md
teacher_ckpt = 'path/to/resnet34_torchvision-in1k_mmpretrain.pth'

# Written by tools/letkd_prepare.py; training refuses a file computed for
# another teacher checkpoint, layer, channel count or K.
letkd_file = 'work_dirs/letkd_targets/letkd_resnet34_in1k_penult.pth'
letkd_targets = dict(
    penult=dict(
        kind='penultimate',
        teacher_module='backbone.layer4',
        channels=512,
        num_templates=4096))

model = dict(
    _scope_='mmrazor',
    type='LetKDDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    architecture=dict(
        # The KD layer is part of the student (kept at test time).
        type='mmrazor.LetKDStudent',
        model=dict(
            _scope_='mmpretrain',
            type='ImageClassifier',
            backbone=dict(
                type='ResNet',
                depth=18,
                num_stages=4,
                out_indices=(3, ),
                style='pytorch'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=1000,
                in_channels=512,
                loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
                topk=(1, 5))),
        layers=dict(
            penult=dict(
                module='backbone.layer4',
                in_channels=512,
                num_templates=4096,
                alpha=1.0))),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
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
                loss_weight=1.0,
                **letkd_targets['penult'])),
        loss_forward_mappings=dict(
            loss_letkd_penult=dict(
                s_logits=dict(from_student=True, recorder='penult'),
                t_feats=dict(from_student=False, recorder='penult')))))

optim_wrapper = dict(optimizer=dict(nesterov=True))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
