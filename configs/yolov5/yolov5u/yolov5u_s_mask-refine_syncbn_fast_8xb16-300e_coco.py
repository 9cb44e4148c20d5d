# Mask refine: boxes are refined from the instance masks while loading and augmenting the
# training data. Only the data pipeline changes, so the detector is YOLOv5u-s itself.
_base_ = './yolov5u_s_syncbn_fast_8xb16-300e_coco.py'

use_mask2refine = True
min_area_ratio = 0.01  # YOLOv5RandomAffine
