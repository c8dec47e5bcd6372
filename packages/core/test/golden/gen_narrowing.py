"""Float32 → float16 / bfloat16 narrowing as PyTorch does it (`.half()`, `.bfloat16()`: round to nearest even),
over ties, subnormals, overflow and specials, written as bit patterns to narrowing.json."""
import json
import numpy as np
import torch

g = torch.Generator().manual_seed(0)
bits = torch.randint(0, 2**31 - 1, (1500,), generator=g, dtype=torch.int64)
bits = torch.cat([bits, bits | (1 << 31)]).to(torch.int32)  # both signs, every exponent
special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0, 65519.99, 65520.0, 1e-8, 2**-24, 2**-25,
                    2**-25 * 1.0000001, 3 * 2**-25, 2**-14, 2**-14 * (1 - 2**-11), 1 + 2**-11, 1 + 3 * 2**-11,
                    1 + 2**-8, 1 + 3 * 2**-8, 3.4e38, -3.4e38, 1.17549435e-38, 1e-45], dtype=np.float32)
# Ties for both formats: mantissas ending exactly halfway, with even and odd kept bits.
ties = []
for m in range(16):
    ties += [(0x3f800000 | (m << 13) | 0x1000), (0x3f800000 | (m << 16) | 0x8000)]
x = torch.cat([bits.view(torch.float32), torch.from_numpy(special), torch.tensor(ties, dtype=torch.int32).view(torch.float32)])
f16 = x.half().view(torch.int16).to(torch.int32) & 0xffff
bf16 = x.bfloat16().view(torch.int16).to(torch.int32) & 0xffff
json.dump({'f32_bits': (x.view(torch.int32).to(torch.int64) & 0xffffffff).tolist(), 'f16_bits': f16.tolist(), 'bf16_bits': bf16.tolist()},
          open('narrowing.json', 'w'))
print(len(x))
