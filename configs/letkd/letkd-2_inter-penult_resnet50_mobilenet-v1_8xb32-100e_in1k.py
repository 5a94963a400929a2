# letKD-2 (arXiv 2309.02843), ResNet-50 -> MobileNetV1 on ImageNet-1k.
# letKD-1 (KD layer on backbone.layers.12, K = 4096, see
# letkd-1_penult_resnet50_mobilenet-v1_8xb32-100e_in1k.py) plus an
# intermediate KD layer after the first block of the last stage: teacher
# backbone.layer4.0 (2048 x 7 x 7), student backbone.layers.11 (the first
# 1024-channel, stride-32 block, 7 x 7), K = 1000 classes x 8 sub-classes;
# targets are rows of the teacher's sub-class score table (LDA to 60 dims,
# per-class K-means, label-restricted nearest sub-class). These positions
# are our reading of the authors' CIFAR rule (first block of the last
# stage); the paper has no ImageNet letKD code.
# Loss = CE + 1 * KL_penult + 1 * KL_inter, alpha = (1, 1).
# Paper (supplement Table 2): 73.98 top-1 / 92.00 top-5.
#
# Before training, compute the teacher statistics once:
#   python tools/letkd_prepare.py THIS_CONFIG   (writes `letkd_file`)
_base_ = ['./letkd-2_inter-penult_resnet34_resnet18_8xb32-100e_in1k.py']

# As the ResNet-34 -> ResNet-18 letKD-2 config except teacher, student (hence
# the KD layers' positions and widths) and the teacher statistics' file and
# channels.

# torchvision ResNet50_Weights.IMAGENET1K_V1 (76.13 top-1) converted to
# mmpretrain keys, see configs/wttm/README.md
teacher_ckpt = 'path/to/resnet50_torchvision-in1k_mmpretrain.pth'

letkd_file = 'work_dirs/letkd_targets/letkd_resnet50_in1k_inter-penult.pth'
# ResNet-50's layer4 and layer4.0: 2048 channels (the rest as the ResNet-34
# targets)
letkd_targets = dict(penult=dict(channels=2048), inter=dict(channels=2048))

model = dict(
    architecture=dict(
        model=dict(
            backbone=dict(
                _delete_=True, type='MobileNetV1', out_indices=(12, )),
            head=dict(in_channels=1024)),
        layers=dict(
            penult=dict(module='backbone.layers.12', in_channels=1024),
            inter=dict(module='backbone.layers.11', in_channels=1024))),
    teacher=dict(cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        distill_losses=dict(
            loss_letkd_penult=dict(target_file=letkd_file),
            loss_letkd_inter=dict(target_file=letkd_file))))
