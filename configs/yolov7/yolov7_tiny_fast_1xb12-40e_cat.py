# Fine-tuning YOLOv7-tiny on the one-class cat dataset (MMYOLO's tutorial), the backbone frozen
# (which changes training only) and anchors fitted to the cats.
_base_ = 'yolov7_tiny_syncbn_fast_8x16b-300e_coco.py'

class_name = ('cat', )
num_classes = len(class_name)
anchors = [
    [(68, 69), (154, 91), (143, 162)],  # P3/8
    [(242, 160), (189, 287), (391, 207)],  # P4/16
    [(353, 337), (539, 341), (443, 432)]  # P5/32
]

model = dict(
    backbone=dict(frozen_stages=4),
    bbox_head=dict(
        head_module=dict(num_classes=num_classes),
        prior_generator=dict(base_sizes=anchors)))
