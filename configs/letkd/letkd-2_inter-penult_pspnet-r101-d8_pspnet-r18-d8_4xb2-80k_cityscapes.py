# letKD-2 for PSPNet R-101-D8 -> PSPNet R-18-D8 on Cityscapes: OUR EXTENSION
# of letKD (arXiv 2309.02843, classification only); there are no paper numbers.
# - "penultimate" KD layer on the map before the classifier (the output of
#   decode_head.bottleneck: student 128 ch, teacher 512 ch, stride 8),
#   K = 1024 templates (instead of 4096: 64 x 128 pixels per crop), tau = 1;
# - intermediate KD layer after the first block of the last stage
#   (backbone.layer4.0: student 512 ch, teacher 2048 ch, stride 8) with
#   K = 19 classes x 8 sub-classes; the per-pixel segmentation labels,
#   downsampled (nearest) to the map, replace the image label of the
#   classification setting, pixels labelled 255 are left out, and the LDA
#   keeps 18 = 19 - 1 components (the most an LDA of 19 classes has).
# Loss = CE (+ aux) + 1 * KL_penult + 1 * KL_inter, alpha = (1, 1).
# mmseg's 80k schedule (SGD lr 0.01 poly, 4 GPUs x 2 crops of 512x1024).
#
# Before training, compute the teacher statistics once:
#   python tools/letkd_prepare.py THIS_CONFIG   (writes `letkd_file`)
_base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmseg model zoo, PSPNet R-101-D8 512x1024 80k Cityscapes:
# pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth
teacher_ckpt = 'path/to/pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth'

# Written by tools/letkd_prepare.py from `letkd_targets`; the losses read
# each target's description (K, channels, classes) from the file, and
# training refuses a file computed for another teacher checkpoint or teacher
# module, or one whose K or channels do not fit the recorded maps.
letkd_file = 'work_dirs/letkd_targets/letkd_pspnet-r101-d8_cityscapes.pth'
letkd_targets = dict(
    penult=dict(
        kind='penultimate',
        teacher_module='decode_head.bottleneck',
        channels=512,
        num_templates=1024),
    inter=dict(
        kind='intermediate',
        teacher_module='backbone.layer4.0',
        channels=2048,
        num_classes=19,
        num_subclasses=8,
        lda_dim=18,
        ignore_index=255))

student = _base_.model

model = dict(
    _scope_='mmrazor',
    _delete_=True,
    type='LetKDDistill',
    architecture=dict(
        # The KD layers are part of the student (kept at test time).
        type='mmrazor.LetKDStudent',
        model=student,
        layers=dict(
            inter=dict(
                module='backbone.layer4.0',
                in_channels=512,
                num_templates=152,
                alpha=1.0),
            penult=dict(
                module='decode_head.bottleneck',
                in_channels=128,
                num_templates=1024,
                alpha=1.0))),
    teacher=dict(
        cfg_path='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(
            penult=dict(type='ModuleOutputs', source='letkd.penult.conv1'),
            inter=dict(type='ModuleOutputs', source='letkd.inter.conv1'),
            # the student's inputs: (images, data samples with the labels)
            inputs=dict(type='ModuleInputs', source='')),
        teacher_recorders=dict(
            penult=dict(
                type='ModuleOutputs', source='decode_head.bottleneck'),
            inter=dict(type='ModuleOutputs', source='backbone.layer4.0')),
        distill_losses=dict(
            loss_letkd_penult=dict(
                type='LetKDLoss',
                target_file=letkd_file,
                target='penult',
                tau=1.0,
                loss_weight=1.0),
            loss_letkd_inter=dict(
                type='LetKDLoss',
                target_file=letkd_file,
                target='inter',
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_letkd_penult=dict(
                s_logits=dict(from_student=True, recorder='penult'),
                t_feats=dict(from_student=False, recorder='penult')),
            loss_letkd_inter=dict(
                s_logits=dict(from_student=True, recorder='inter'),
                t_feats=dict(from_student=False, recorder='inter'),
                data_samples=dict(
                    from_student=True, recorder='inputs', data_idx=1)))))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
