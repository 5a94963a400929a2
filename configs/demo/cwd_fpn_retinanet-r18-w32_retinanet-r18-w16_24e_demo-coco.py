# Demo distillation: the width-32 teacher into the width-16 student on the
# FPN outputs P3-P6, with mmrazor's FpnTeacherDistill (the teacher runs its
# backbone and neck only), with mmrazor's ChannelWiseDivergence: the
# `tools/demo.py --method cwd` baseline and the fixture of the runner tests.
# Inherits the CanKD demo config (models, recorders, schedule) and replaces
# its losses.
_base_ = ['./cankd_fpn_retinanet-r18-w32_retinanet-r18-w16_24e_demo-coco.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            _delete_=True,
            **{
                f'loss_fpn{i}': dict(
                    type='ChannelWiseDivergence', tau=1, loss_weight=3)
                for i in range(4)
            }),
        loss_forward_mappings=dict(
            _delete_=True,
            **{
                f'loss_fpn{i}': dict(
                    preds_S=dict(
                        from_student=True, recorder='fpn', data_idx=i),
                    preds_T=dict(
                        from_student=False, recorder='fpn', data_idx=i))
                for i in range(4)
            })))
