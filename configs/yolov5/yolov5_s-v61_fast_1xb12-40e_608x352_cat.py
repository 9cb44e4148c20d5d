# The cat fine-tuning at 608x352 (training size; get_flops counts --shape, default 640x640).
_base_ = 'yolov5_s-v61_fast_1xb12-40e_cat.py'

img_scale = (608, 352)  # w h
anchors = [
    [(65, 35), (159, 45), (119, 80)],  # P3/8
    [(215, 77), (224, 116), (170, 166)],  # P4/16
    [(376, 108), (339, 176), (483, 190)]  # P5/32
]

_base_.model.bbox_head.loss_obj.loss_weight = 1.0 * ((img_scale[1] / 640)**2)
_base_.model.bbox_head.prior_generator.base_sizes = anchors
