"""Conformance cases for the @iv2/core ops: inputs, attributes, float64 expected outputs and float64 gradients
(the vector-Jacobian product with a fixed cotangent `dy`), computed with PyTorch's own float64 ops.
Run with /usr/bin/python3 (torch 1.13); writes cases.json beside this file."""
import json
import math
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
D = torch.float64
cases = []


def t(*shape, scale=1.0):
    return (torch.randn(*shape, dtype=D) * scale)


def add(name, op, inputs, attrs, fn, tol=1e-4, grad=True, int_inputs=()):
    leaves = {k: (v.clone().requires_grad_(grad and k not in int_inputs and v.is_floating_point())) for k, v in inputs.items()}
    out = fn(**leaves)
    dy = torch.randn_like(out)
    grads = {}
    if grad:
        wrt = [k for k, v in leaves.items() if v.requires_grad]
        gs = torch.autograd.grad(out, [leaves[k] for k in wrt], dy)
        grads = {k: {'shape': list(g.shape), 'data': g.flatten().tolist()} for k, g in zip(wrt, gs)}
    cases.append({
        'name': name, 'op': op, 'attrs': attrs, 'tol': tol,
        'inputs': {k: {'shape': list(v.shape), 'dtype': 'int32' if k in int_inputs else ('bool' if v.dtype == torch.bool else 'float32'),
                       'data': v.flatten().int().tolist() if k in int_inputs or v.dtype == torch.bool else v.flatten().tolist()} for k, v in inputs.items()},
        'output': {'shape': list(out.shape), 'data': out.detach().flatten().tolist()},
        'dy': {'shape': list(dy.shape), 'data': dy.flatten().tolist()},
        'grads': grads,
    })


def rms(x, w, eps):
    return w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


add('rmsNorm 3d', 'rmsNorm', {'x': t(2, 5, 16), 'weight': t(16)}, {'eps': 1e-6}, lambda x, weight: rms(x, weight, 1e-6))
add('rmsNorm tiny values', 'rmsNorm', {'x': t(3, 8, scale=1e-3), 'weight': t(8)}, {'eps': 1e-6}, lambda x, weight: rms(x, weight, 1e-6), tol=2e-3)
add('layerNorm', 'layerNorm', {'x': t(2, 7, 12, scale=3), 'weight': t(12), 'bias': t(12)}, {'eps': 1e-5},
    lambda x, weight, bias: F.layer_norm(x, (12,), weight, bias, 1e-5))
add('layerNorm offset rows', 'layerNorm', {'x': t(4, 32) + 10, 'weight': t(32), 'bias': t(32)}, {'eps': 1e-12},
    lambda x, weight, bias: F.layer_norm(x, (32,), weight, bias, 1e-12), tol=5e-4)
add('gelu exact', 'gelu', {'x': t(64, scale=3)}, {'approximate': 'none'}, lambda x: F.gelu(x))
add('gelu tanh', 'gelu', {'x': t(64, scale=3)}, {'approximate': 'tanh'}, lambda x: F.gelu(x, approximate='tanh'))
add('linear', 'linear', {'x': t(2, 3, 8), 'weight': t(8, 5), 'bias': t(5)}, {}, lambda x, weight, bias: x @ weight + bias)


def attn(q, k, v, mask=None, scale=None, causal=False):
    s = (q * scale) @ k.transpose(-1, -2)
    if mask is not None:
        s = s + mask
    if causal:
        nq, nk = q.shape[-2], k.shape[-2]
        keep = torch.ones(nq, nk, dtype=torch.bool).tril(nk - nq)
        s = s.masked_fill(~keep, -math.inf)
    return torch.softmax(s, -1) @ v


add('attention self', 'attention', {'q': t(2, 3, 6, 8), 'k': t(2, 3, 6, 8), 'v': t(2, 3, 6, 8)}, {'scale': 8 ** -0.5},
    lambda q, k, v: attn(q, k, v, scale=8 ** -0.5))
add('attention cross', 'attention', {'q': t(2, 4, 1, 16), 'k': t(2, 4, 9, 16), 'v': t(2, 4, 9, 16)}, {'scale': 0.25},
    lambda q, k, v: attn(q, k, v, scale=0.25))
add('attention additive mask', 'attention', {'q': t(1, 2, 5, 4), 'k': t(1, 2, 7, 4), 'v': t(1, 2, 7, 4), 'mask': t(1, 1, 5, 7)}, {'scale': 0.5},
    lambda q, k, v, mask: attn(q, k, v, mask=mask, scale=0.5))
add('attention causal', 'attention', {'q': t(1, 2, 5, 4), 'k': t(1, 2, 5, 4), 'v': t(1, 2, 5, 4)}, {'scale': 0.5, 'causal': True},
    lambda q, k, v: attn(q, k, v, scale=0.5, causal=True))
add('l2Normalize', 'l2Normalize', {'x': t(3, 10)}, {'axis': -1, 'eps': 0}, lambda x: x / x.norm(dim=-1, keepdim=True))
add('l2Normalize eps', 'l2Normalize', {'x': t(3, 10, scale=1e-14)}, {'axis': -1, 'eps': 1e-12}, lambda x: F.normalize(x, dim=-1, eps=1e-12), grad=False)
logits, soft = t(4, 6), torch.softmax(t(4, 6), -1)
add('softCrossEntropy', 'softCrossEntropy', {'logits': logits, 'targets': soft}, {},
    lambda logits, targets: -(targets * torch.log_softmax(logits, -1)).sum(-1).mean())
idx = torch.tensor([[0, 2, 5], [1, 3, 4]])
add('gatherTokens', 'gatherTokens', {'x': t(2, 6, 4), 'index': idx}, {}, lambda x, index: torch.gather(x, 1, index[..., None].expand(-1, -1, 4)), int_inputs=('index',))
add('scatterTokens', 'scatterTokens', {'updates': t(2, 3, 4), 'index': idx}, {'n': 6},
    lambda updates, index: torch.zeros(2, 6, 4, dtype=D).scatter(1, index[..., None].expand(-1, -1, 4), updates), int_inputs=('index',))
add('interpolateLinear1d 4→8', 'interpolateLinear1d', {'x': t(2, 3, 4)}, {'size': 8, 'axis': -1},
    lambda x: F.interpolate(x, size=8, mode='linear', align_corners=False))
add('interpolateLinear1d 8→3', 'interpolateLinear1d', {'x': t(1, 2, 8)}, {'size': 3, 'axis': -1},
    lambda x: F.interpolate(x, size=3, mode='linear', align_corners=False))
add('interpolateBicubic2d 4→7', 'interpolateBicubic2d', {'x': t(1, 4, 4, 3)}, {'size': [7, 7]},
    lambda x: F.interpolate(x.permute(0, 3, 1, 2), size=(7, 7), mode='bicubic', align_corners=False).permute(0, 2, 3, 1))
add('interpolateBicubic2d 16→6x5', 'interpolateBicubic2d', {'x': t(2, 16, 16, 2)}, {'size': [6, 5]},
    lambda x: F.interpolate(x.permute(0, 3, 1, 2), size=(6, 5), mode='bicubic', align_corners=False).permute(0, 2, 3, 1))

# Key padding as a boolean mask [B, 1, 1, Nk] (true = attend), broadcast over heads and queries.
keep = torch.tensor([[True] * 6, [True] * 4 + [False] * 2]).reshape(2, 1, 1, 6)
add('attention bool key mask', 'attention', {'q': t(2, 2, 3, 8), 'k': t(2, 2, 6, 8), 'v': t(2, 2, 6, 8), 'mask': keep}, {'scale': 8 ** -0.5},
    lambda q, k, v, mask: attn(q, k, v, mask=torch.zeros(mask.shape, dtype=D).masked_fill(~mask, -math.inf), scale=8 ** -0.5))
# tf.conv2d (NHWC x, [kh, kw, in, out] filter) as PatchConv3d uses it: stride = kernel, 'valid'; and 'same' padding.
add('conv2d patches', 'conv2d', {'x': t(2, 6, 8, 3), 'filter': t(2, 2, 3, 4)}, {'strides': 2, 'pad': 'valid'},
    lambda x, filter: F.conv2d(x.permute(0, 3, 1, 2), filter.permute(3, 2, 0, 1), stride=2).permute(0, 2, 3, 1))
add('conv2d same stride 2', 'conv2d', {'x': t(1, 5, 5, 2), 'filter': t(3, 3, 2, 3)}, {'strides': 2, 'pad': 'same'},
    lambda x, filter: F.conv2d(x.permute(0, 3, 1, 2), filter.permute(3, 2, 0, 1), stride=2, padding=1).permute(0, 2, 3, 1))
# F.normalize's gradient on both sides of the clamp: one row below eps (dx = dy / eps), one above.
xe = torch.cat([t(1, 10, scale=1e-13), t(1, 10)])
add('l2Normalize eps gradient', 'l2Normalize', {'x': xe}, {'axis': -1, 'eps': 1e-12}, lambda x: F.normalize(x, dim=-1, eps=1e-12))

json.dump({'source': f'torch {torch.__version__} float64', 'cases': cases}, open('cases.json', 'w'))
print(len(cases), 'cases')
