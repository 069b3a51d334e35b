import sys
sys.path.insert(0, '/work/main/plugins/imgedit-interp')
import torch
from safetensors.torch import load_file
w = load_file('/work/main/pretrained/interp-gru-v1.safetensors')
for k, v in w.items():
    v = v.float()
    print(f'{k:40s} {tuple(v.shape)!s:18s} absmean {v.abs().mean():.2e} max {v.abs().max():.2e}')
