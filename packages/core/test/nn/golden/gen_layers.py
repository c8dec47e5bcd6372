"""Golden outputs of torch.nn layers (float32, /usr/bin/python3 with torch 1.13) for @iv2/core's nn modules:
Linear, LayerNorm, the official RMSNorm formula and a Conv3d patch embedding (kernel = stride = (2, 4, 4)),
with their state dicts under PyTorch names and layouts."""
import json
import torch

torch.manual_seed(3)
out = {}


def dump(t):
    return {'shape': list(t.shape), 'data': t.detach().flatten().tolist()}


lin = torch.nn.Linear(6, 5)
x = torch.randn(2, 3, 6)
out['linear'] = {'state': {k: dump(v) for k, v in lin.state_dict().items()}, 'x': dump(x), 'y': dump(lin(x))}
ln = torch.nn.LayerNorm(6, eps=1e-5)
with torch.no_grad():
    ln.weight.copy_(torch.randn(6)); ln.bias.copy_(torch.randn(6))
out['layer_norm'] = {'state': {k: dump(v) for k, v in ln.state_dict().items()}, 'x': dump(x), 'y': dump(ln(x))}
w = torch.randn(6)
y = w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
out['rms_norm'] = {'state': {'weight': dump(w)}, 'x': dump(x), 'y': dump(y)}
conv = torch.nn.Conv3d(3, 8, kernel_size=(2, 4, 4), stride=(2, 4, 4))
v = torch.randn(2, 3, 4, 8, 12)
tokens = conv(v).flatten(3).permute(0, 2, 3, 1)  # [B, T', H'W', C] as the official PatchEmbed
out['patch_embed'] = {'state': {k: dump(val) for k, val in conv.state_dict().items()}, 'x': dump(v), 'y': dump(tokens)}
json.dump(out, open('layers.json', 'w'))
print('ok')
