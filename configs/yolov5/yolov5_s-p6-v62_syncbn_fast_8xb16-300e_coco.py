# YOLOv5-s P6 v6.2: a fifth stage (768 channels) and a fourth output level at stride 64.
_base_ = 'yolov5_s-v61_syncbn_fast_8xb16-300e_coco.py'

img_scale = (1280, 1280)  # width, height (training; get_flops still counts at 640 by default)
num_classes = 80
anchors = [
    [(19, 27), (44, 40), (38, 94)],  # P3/8
    [(96, 68), (86, 152), (180, 137)],  # P4/16
    [(140, 301), (303, 264), (238, 542)],  # P5/32
    [(436, 615), (739, 380), (925, 792)],  # P6/64
]
strides = [8, 16, 32, 64]
num_det_layers = 4
loss_cls_weight = 0.5
loss_bbox_weight = 0.05
loss_obj_weight = 1.0
obj_level_weights = [4.0, 1.0, 0.25, 0.06]

model = dict(
    backbone=dict(arch='P6', out_indices=(2, 3, 4, 5)),
    neck=dict(
        in_channels=[256, 512, 768, 1024], out_channels=[256, 512, 768, 1024]),
    bbox_head=dict(
        head_module=dict(
            in_channels=[256, 512, 768, 1024], featmap_strides=strides),
        prior_generator=dict(base_sizes=anchors, strides=strides),
        loss_cls=dict(
            loss_weight=loss_cls_weight * (num_classes / 80 * 3 / num_det_layers)),
        loss_bbox=dict(loss_weight=loss_bbox_weight * (3 / num_det_layers)),
        loss_obj=dict(
            loss_weight=loss_obj_weight * ((img_scale[0] / 640)**2 * 3 / num_det_layers)),
        obj_level_weights=obj_level_weights))
