# YOLOv5-s on CrowdHuman: one class (person) and anchors fitted to it.
_base_ = '../yolov5_s-v61_syncbn_fast_8xb16-300e_coco.py'

num_classes = 1
anchors = [
    [(6, 14), (12, 28), (19, 48)],  # P3/8
    [(29, 79), (46, 124), (142, 54)],  # P4/16
    [(73, 198), (124, 330), (255, 504)]  # P5/32
]

model = dict(
    bbox_head=dict(
        head_module=dict(num_classes=num_classes),
        prior_generator=dict(base_sizes=anchors)))
