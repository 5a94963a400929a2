# letKD-1 on RetinaNet FPN outputs, R-101 -> R-50 on COCO: OUR EXTENSION of
# letKD (arXiv 2309.02843, classification only); there are no paper numbers.
# One KD layer shared by the five FPN outputs P3-P7 of the student (like the
# RetinaNet head, which is shared by the levels), K = 1024 templates,
# alpha = 1, and one teacher codebook: K-means over the pixels of all five
# teacher FPN outputs (256 channels). One KL term per level, each averaged
# over that level's pixels, weight 1; tau = 1. K = 1024 instead of 4096
# keeps the (pixels x K) target tensors of the 1333x800 inputs small.
# The teacher runs backbone + neck only. mmdet's 2x schedule (SGD lr 0.01
# for 8 GPUs x 2 images, 24 epochs).
#
# Before training, compute the teacher statistics once:
#   python tools/letkd_prepare.py THIS_CONFIG   (writes `letkd_file`)
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)

# mmdet model zoo, RetinaNet R-101-FPN 2x:
# retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth
teacher_ckpt = 'path/to/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'

# Written by tools/letkd_prepare.py from `letkd_targets`; the losses read
# the target's description (K, channels) from the file, and training refuses
# a file computed for another teacher checkpoint or teacher module, or one
# whose K or channels do not fit the recorded maps.
letkd_file = 'work_dirs/letkd_targets/letkd_retinanet-r101_coco_fpn.pth'
letkd_targets = dict(
    fpn=dict(
        kind='penultimate',
        teacher_module='neck',
        teacher_index=[0, 1, 2, 3, 4],
        channels=256,
        num_templates=1024))

student = _base_.model

model = dict(
    _scope_='mmrazor',
    _delete_=True,
    type='LetKDFpnTeacherDistill',
    architecture=dict(
        # The KD layer is part of the student (kept at test time).
        type='mmrazor.LetKDStudent',
        model=student,
        layers=dict(
            fpn=dict(
                module='neck',
                index=[0, 1, 2, 3, 4],
                in_channels=256,
                num_templates=1024,
                alpha=1.0))),
    teacher=dict(
        cfg_path='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        # the shared layer runs once per level: record_idx = level
        student_recorders=dict(
            fpn=dict(type='ModuleOutputs', source='letkd.fpn.conv1')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        # one KL term per level p3-p7, all towards the one target
        distill_losses={
            f'loss_letkd_p{level}': dict(
                type='LetKDLoss', target_file=letkd_file, target='fpn')
            for level in range(3, 8)
        },
        loss_forward_mappings={
            f'loss_letkd_p{level}': dict(
                s_logits=dict(
                    from_student=True, recorder='fpn', record_idx=level - 3),
                t_feats=dict(
                    from_student=False, recorder='fpn', data_idx=level - 3))
            for level in range(3, 8)
        }))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
