"""Golden values for interpolatePosEmbed: the official procedure (linear in time, then bicubic in space,
align_corners=False) run with PyTorch's F.interpolate in float32. Run with /usr/bin/python3 (torch 1.13)."""
import json
import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []
for (t0, s0, t1, s1, c) in [(4, 4, 8, 4, 8), (8, 4, 4, 6, 8), (2, 3, 2, 5, 4), (1, 4, 1, 2, 4)]:
    pe = torch.randn(1, 1 + t0 * s0 * s0, c)
    extra, pos = pe[:, :1], pe[:, 1:]
    x = pos.reshape(1, t0, s0 * s0, c).permute(0, 2, 3, 1).reshape(1, s0 * s0 * c, t0)
    x = F.interpolate(x, size=t1, mode='linear', align_corners=False)
    x = x.reshape(1, s0 * s0, c, t1).permute(0, 3, 1, 2).reshape(t1, s0, s0, c).permute(0, 3, 1, 2)
    x = F.interpolate(x, size=(s1, s1), mode='bicubic', align_corners=False)
    x = x.permute(0, 2, 3, 1).reshape(1, t1 * s1 * s1, c)
    out = torch.cat([extra, x], 1)
    cases.append({'from_frames': t0, 'from_side': s0, 'to_frames': t1, 'to_side': s1, 'channels': c,
                  'input': pe.flatten().tolist(), 'output': out.flatten().tolist(), 'output_shape': list(out.shape)})
json.dump({'source': 'torch %s F.interpolate' % torch.__version__, 'cases': cases}, open('interpolate.json', 'w'))
