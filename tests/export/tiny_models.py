"""Small seeded PyTorch models for the lens-export tests, loaded through the
`module:factory` path (tests/export must be on sys.path or the working directory)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def classifier(channels=3, classes=4, seed=1):
    """Conv-BN-ReLU x2, global pool, Linear: [1, channels, H, W] -> [1, classes]."""
    torch.manual_seed(seed)
    m = nn.Sequential(
        nn.Conv2d(channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, classes))
    with torch.no_grad():   # non-trivial BatchNorm statistics
        for b in (m[1], m[5]):
            b.running_mean.uniform_(-0.2, 0.2)
            b.running_var.uniform_(0.5, 1.5)
        m[9].weight.mul_(4.0)
    return m.eval()


class TinyYolo(nn.Module):
    """Anchor-free head at stride 8 in the yolov8 layout [1, 4+nc, N]: cx, cy, w, h in
    input pixels and sigmoid class scores, no NMS."""

    def __init__(self, nc=3, size=64):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, 2, 1), nn.ReLU())
        self.head = nn.Conv2d(16, 4 + nc, 1)
        n = size // 8
        yy, xx = torch.meshgrid(torch.arange(n, dtype=torch.float32), torch.arange(n, dtype=torch.float32),
                                indexing="ij")
        self.register_buffer("anchors", torch.stack([(xx + 0.5) * 8, (yy + 0.5) * 8], 0).view(1, 2, -1))

    def forward(self, x):
        r = self.head(self.body(x)).flatten(2)
        d = F.softplus(r[:, :4]) * 8
        cxcy = self.anchors + (d[:, 2:] - d[:, :2]) / 2
        return torch.cat([cxcy, d[:, :2] + d[:, 2:], r[:, 4:].sigmoid()], 1)


def yolo(nc=3, size=64, seed=2):
    torch.manual_seed(seed)
    return TinyYolo(nc, size).eval()


class TinySeg(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, classes, 3, 1, 1))

    def forward(self, x):
        return self.body(x)


def segmenter(classes=3, seed=3):
    """[1, 3, H, W] -> [1, classes, H/2, W/2] logits."""
    torch.manual_seed(seed)
    return TinySeg(classes).eval()
