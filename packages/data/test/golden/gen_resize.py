"""Golden resize outputs from PyTorch itself (torch.nn.functional.interpolate, align_corners=False), with the
uint8 round/clamp torchvision applies when it resizes uint8 frame tensors.
Re-run: /usr/bin/python3 gen_resize.py > resize.json"""
import json
import torch
import torch.nn.functional as F

g = torch.Generator().manual_seed(0)
x = torch.randint(0, 256, (1, 3, 23, 31), generator=g, dtype=torch.uint8)
cases = []
for mode in ["bilinear", "bicubic"]:
    for size in [(16, 20), (40, 50), (23, 12)]:
        y = F.interpolate(x.float(), size=size, mode=mode, align_corners=False)
        r = y.clamp(0, 255).round().to(torch.uint8) if mode == "bicubic" else y.round().to(torch.uint8)
        cases.append({"mode": mode, "size": list(size), "float": [round(v, 4) for v in y.flatten().tolist()],
                      "uint8": r.flatten().tolist()})
print(json.dumps({"torch": torch.__version__, "input_shape": list(x.shape), "input": x.flatten().tolist(), "cases": cases}))
