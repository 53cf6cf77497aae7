"""The PyTorch peer of spn-bench-loader: the same JPEGs through CLIP4CIR's preprocessing
(TargetPad 1.25, Resize(288, bicubic), CenterCrop(288)) with PIL and torchvision, loaded by
torch.utils.data.DataLoader with the same number of workers and batch size, to uint8
tensors as spn's loader produces. Prints one JSON line.

    python loader_torchvision.py DIR IMAGES WORKERS BATCH
"""
import json
import sys
import time

import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image
from torchvision import transforms


class TargetPad:
    """Black borders up to `ratio` when an image is more elongated (CLIP4CIR's TargetPad)."""

    def __init__(self, ratio):
        self.ratio = ratio

    def __call__(self, image):
        w, h = image.size
        if max(w, h) / min(w, h) < self.ratio:
            return image
        scaled = max(w, h) / self.ratio
        horizontal = max(int((scaled - w) / 2), 0)
        vertical = max(int((scaled - h) / 2), 0)
        return F.pad(image, [horizontal, vertical, horizontal, vertical], 0, "constant")


class Photos(torch.utils.data.Dataset):
    def __init__(self, folder, count, size):
        self.paths = [f"{folder}/{i}.jpg" for i in range(count)]
        self.transform = transforms.Compose([
            TargetPad(1.25),
            transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size),
            transforms.PILToTensor(),
        ])

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        return self.transform(Image.open(self.paths[index]).convert("RGB"))


def main():
    folder, count, workers, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    loader = torch.utils.data.DataLoader(Photos(folder, count, 288), batch_size=batch, num_workers=workers,
                                         persistent_workers=True, prefetch_factor=2)
    for _ in loader:  # warm-up: workers started, files in the page cache
        pass
    start = time.perf_counter()
    for _ in loader:
        pass
    seconds = time.perf_counter() - start
    print(json.dumps({"impl": "torch DataLoader + PIL + torchvision", "torch": torch.__version__,
                      "torchvision": torchvision.__version__, "pillow": Image.__version__, "workers": workers,
                      "images_per_s": count / seconds, "images_per_s_per_worker": count / seconds / workers}))


if __name__ == "__main__":
    main()
