# letKD-1 (arXiv 2309.02843), ResNet-50 -> MobileNetV1 on ImageNet-1k.
# The supplement's "MN2V2" ImageNet student is MobileNetV1 (its student and
# DKD numbers are the standard ResNet-50 -> MobileNetV1 ones and the
# authors' ImageNet model file defines a 1024-channel MobileNetV1); we use
# mmkd_ext's registered MobileNetV1 backbone.
# One KD layer on the student's last map before global pooling
# (backbone.layers.12, 1024 x 7 x 7), K = 4096 templates, alpha = 1;
# teacher targets from K-means of the teacher's layer4 pixels (2048 ch),
# tau = 1. Loss = CE + 1 * KL.
# Paper (supplement Table 2): 73.78 top-1 / 91.81 top-5.
# Schedule (supplement): SGD Nesterov momentum 0.9, lr 0.1 /10 at epochs
# 30/60/90, 100 epochs; batch 256 (8 GPUs x 32) and wd 1e-4 as in QuEST.
#
# Before training, compute the teacher statistics once:
#   python tools/letkd_prepare.py THIS_CONFIG   (writes `letkd_file`)
_base_ = ['./letkd-1_penult_resnet34_resnet18_8xb32-100e_in1k.py']

# As the ResNet-34 -> ResNet-18 config except teacher, student (hence the KD
# layer's position and width) and the teacher statistics' file and channels.

# torchvision ResNet50_Weights.IMAGENET1K_V1 (76.13 top-1) converted to
# mmpretrain keys, see configs/wttm/README.md
teacher_ckpt = 'path/to/resnet50_torchvision-in1k_mmpretrain.pth'

letkd_file = 'work_dirs/letkd_targets/letkd_resnet50_in1k_penult.pth'
# ResNet-50's layer4: 2048 channels (the rest as the ResNet-34 target)
letkd_targets = dict(penult=dict(channels=2048))

model = dict(
    architecture=dict(
        model=dict(
            backbone=dict(
                _delete_=True, type='MobileNetV1', out_indices=(12, )),
            head=dict(in_channels=1024)),
        layers=dict(
            penult=dict(module='backbone.layers.12', in_channels=1024))),
    teacher=dict(cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        distill_losses=dict(
            loss_letkd_penult=dict(target_file=letkd_file))))
