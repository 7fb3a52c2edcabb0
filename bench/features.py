"""Feature-extraction benchmark: cortexkit's extractors against the raw forward pass of the same
network on the same tensors, in one process.

For AlexNet (five conv layers), VGG16 (conv3_3, conv4_1, conv5_1) and the expansion model: images of
112 px (resized to the network's input inside the extractor), timed

- raw: ``net(x)`` on batches already resized and normalised (the floor of the extraction);
- warm: ``extract`` on an extractor fitted before (resizing, hooks, pooling, copies included);
  warm and raw passes alternate ``--repeats`` times and the fastest of each is kept;
- first call: a new extractor, ``fit`` + ``extract`` (building the network and loading the weights).

Throughput ratios warm / raw and the first call's extra time in batches of the raw pass are printed.

    python bench/features.py                  # 256 images
    python bench/features.py --images 64      # a smoke run
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch


def _raw_time(ex, images, batch_size):
    """Seconds of the network's own forward pass over prepared batches (stopping at the last layer
    the extractor uses, as the extractor does)."""
    prepared = [ex._prepare(images[a : a + batch_size]) for a in range(0, len(images), batch_size)]
    net, last = ex.net_, ex.modules_[-1]

    class Stop(Exception):
        pass

    def stop(*_):
        raise Stop

    handle = last.register_forward_hook(stop)
    try:
        with torch.no_grad():
            try:
                net(prepared[0])
            except Stop:
                pass
            t0 = time.perf_counter()
            for x in prepared:
                try:
                    net(x)
                except Stop:
                    pass
            return time.perf_counter() - t0
    finally:
        handle.remove()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--models", default="alexnet,vgg16,expansion")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes of warm and raw each (best kept)")
    args = ap.parse_args(argv)

    from cortexkit.features import get_extractor

    rng = np.random.default_rng(0)
    images = rng.random((args.images, 112, 112, 3), dtype=np.float32)
    specs = {"alexnet": ("alexnet", {"layers": "all"}),
             "vgg16": ("vgg16", {"layers": ["conv3_3", "conv4_1", "conv5_1"]}),
             "expansion": ("expansion", {})}
    print(f"# feature extraction: {args.images} images of 112 px, batches of {args.batch_size}; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads")
    print("| extractor | raw forward (img/s) | warm extract (img/s) | warm / raw | first call (s) | first call extra, in raw batches |")
    print("|---|---|---|---|---|---|")
    for name in filter(None, args.models.split(",")):
        reg, params = specs[name]
        params = {**params, "batch_size": args.batch_size} if "batch_size" in get_extractor(reg).get_params() else params
        t0 = time.perf_counter()
        ex = get_extractor(reg, params).fit(images[:2])
        ex.extract(images)
        first = time.perf_counter() - t0
        is_net = hasattr(ex, "net_") and hasattr(ex, "modules_")
        warm, raw = np.inf, np.inf
        for _ in range(args.repeats):  # interleaved, best of each: this machine's speed drifts by 20-30%
            t0 = time.perf_counter()
            ex.extract(images)
            warm = min(warm, time.perf_counter() - t0)
            if is_net:
                raw = min(raw, _raw_time(ex, images, args.batch_size))
        if is_net:
            per_batch = raw / np.ceil(len(images) / args.batch_size)
            print(f"| {name} | {len(images) / raw:.0f} | {len(images) / warm:.0f} | {raw / warm:.2f} | {first:.2f} | "
                  f"{(first - raw) / per_batch:.1f} |")
        else:
            print(f"| {name} | n/a | {len(images) / warm:.0f} | n/a | {first:.2f} | n/a |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
