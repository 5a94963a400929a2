# WTTM (ICLR 2024), ResNet-50 -> MobileNetV1 on ImageNet-1k.
# gamma = 1/T = 0.7, beta = 3.5 (paper Table 10), CE weight 1.
# torchdistill's reference ImageNet recipe (the paper trains with
# torchdistill's standard settings): SGD momentum 0.9, wd 1e-4, lr 0.1 for
# a total batch of 256 (8 GPUs x 32), x0.1 at epochs 30/60/90, 100 epochs.
_base_ = ['./wttm_logits_resnet34_resnet18_8xb32-100e_in1k.py']

# As the ResNet-34 -> ResNet-18 config except teacher, student and the WTTM
# weights.

# torchvision ResNet50_Weights.IMAGENET1K_V1 (76.13 top-1) converted to
# mmpretrain keys, see configs/wttm/README.md
teacher_ckpt = 'path/to/resnet50_torchvision-in1k_mmpretrain.pth'

model = dict(
    architecture=dict(
        # mmkd_ext's MobileNetV1 (1024-channel last map)
        backbone=dict(
            _delete_=True, type='MobileNetV1', out_indices=(12, )),
        head=dict(in_channels=1024)),
    teacher=dict(cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        distill_losses=dict(loss_wttm=dict(gamma=0.7, loss_weight=3.5))))
