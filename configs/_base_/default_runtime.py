# Runtime defaults shared by the model configs. Only `default_scope` matters to the zoo: it says
# that un-prefixed types are MMYOLO names ('mmdet.' / 'mmyolo.' prefixes are stripped anyway).
default_scope = 'mmyolo'

env_cfg = dict(cudnn_benchmark=False)
log_level = 'INFO'
load_from = None
resume = False
