_base_ = './yolox_s_fast_8xb32-300e-rtmdet-hyp_coco.py'

deepen_factor = 0.33
widen_factor = 0.375
# YOLOX-tiny is tested at 416x416; MMYOLO's get_flops still counts it at 640 by default.

model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(
            type='YOLOXBatchSyncRandomResize',
            random_size_range=(320, 640),
            size_divisor=32,
            interval=_base_.batch_augments_interval)
    ]),
    backbone=dict(deepen_factor=deepen_factor, widen_factor=widen_factor),
    neck=dict(deepen_factor=deepen_factor, widen_factor=widen_factor),
    bbox_head=dict(head_module=dict(widen_factor=widen_factor)))
