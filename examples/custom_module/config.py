# RTMDet-s with a neck of your own: `my_neck` (next to this file) registers `TinyNeck` in
# mmyolo's registry, and `custom_imports` makes mmengine/MMYOLO import it first.
#   complexity analyze examples/custom_module/config.py   (needs mmyolo: the openmmlab builder)
_base_ = "../../configs/rtmdet/rtmdet_s_syncbn_fast_8xb32-300e_coco.py"

custom_imports = dict(imports=["my_neck"], allow_failed_imports=False)

model = dict(
    neck=dict(
        _delete_=True,
        type="TinyNeck",
        in_channels=[128, 256, 512],  # RTMDet-s backbone outputs (widen_factor 0.5)
        out_channels=128,  # what RTMDet-s's head takes (256 * 0.5)
    )
)
