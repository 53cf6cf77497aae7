# The two commands of the README, plus the benchmark.
#   make quickstart   install what is missing, build, run the quickstart on 2 MPI ranks
#   make test         install what is missing, build, run every test (ctest); the first
#                     time it also makes build/pyenv, TensorBoard and MLflow from PyPI
#                     for the tests that read our outputs with the real clients. The
#                     tests include the fuzzers (fuzz/), built by clang in $(BUILD)-fuzz
#   make sanitize     the unit tests built with AddressSanitizer and UBSan (gcc), in $(BUILD)-sanitize
#   make zero-shot-study  the zero-shot comparison on the built-in benchmark (README, "The
#                     zero-shot comparison"): a tiny CLIP pre-trained on the benchmark's
#                     descriptions, SEARLE's phi for RTD, then sweeps/zero_shot.toml on 2 ranks
#   make format       rewrites the C++ sources in the style of .clang-format (make test checks it)
#   make bench        stage-1 throughput and the stage-2 loss step on 1 and 2 ranks, pair mining,
#                     CLIP ViT-B/32 encoding (JSON lines); BENCH_PYTHON=<python with torch and
#                     transformers> adds Hugging Face's CLIP to the last for comparison; the
#                     data loader next to PyTorch's DataLoader with PIL and torchvision (installed
#                     for the torch installation's Python into $(BUILD)/bench-pylib); the CLIP
#                     ViT-B/32 training step and SPRC's Q-Former training step next to transformers'
#                     (into $(BUILD)/bench-pylib-clip);
#                     all-gather and all-reduce bandwidth on 1 and 2 ranks
BUILD ?= build
JOBS ?= $(shell nproc)
# Root is allowed (containers, CI); more ranks than cores are allowed; ranks are not
# pinned to one core, so each can run several threads.
MPIRUN ?= mpirun --allow-run-as-root --oversubscribe --bind-to none
BENCH_PYTHON ?=

.PHONY: all deps test-deps configure build fuzz-build pyenv test sanitize quickstart zero-shot-study bench format clean

all: build

# LibTorch is the torch wheel's, installed once per version into TORCH_HOME (outside the
# clone, so fresh clones and CI reuse it). TORCH_DIR=<site-packages/torch> builds against
# another torch installation instead (a cluster's own).
TORCH_VERSION ?= 2.11.0
TORCH_HOME ?= $(HOME)/.cache/spn/torch-$(TORCH_VERSION)
TORCH_DIR ?=

deps:
	@bash scripts/install-deps.sh
	@[ -n "$(TORCH_DIR)" ] || bash scripts/install-torch.sh $(TORCH_VERSION) $(TORCH_HOME)

SPN_TORCH = $(if $(TORCH_DIR),$(TORCH_DIR),$$(cat $(TORCH_HOME)/torch-dir))
FUZZ_BUILD ?= $(BUILD)-fuzz
SANITIZE_BUILD ?= $(BUILD)-sanitize

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DSPN_TORCH_DIR=$(SPN_TORCH) \
	  -DSPN_FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) > /dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test-deps:
	@bash scripts/install-deps.sh --test

# The libFuzzer harnesses (fuzz/CMakeLists.txt): clang with ASan and UBSan, only the
# sources the readers need.
fuzz-build: deps test-deps
	@cmake -S fuzz -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DSPN_TORCH_DIR=$(SPN_TORCH) > /dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Debian's python3 with the pinned clients; remade when the pins change.
PYENV = $(BUILD)/pyenv
pyenv: $(PYENV)/installed
$(PYENV)/installed: tests/clients/requirements.txt | test-deps
	rm -rf $(PYENV)
	/usr/bin/python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check -r tests/clients/requirements.txt
	touch $@

# safetensors (and the numpy it writes through) for the torch installation's Python, which
# the checkpoint conversion scripts and their test (ctest blip2_conversion) run on.
CONVERT_PYLIB = $(BUILD)/convert-pylib
$(CONVERT_PYLIB)/installed: scripts/convert_requirements.txt | deps
	rm -rf $(CONVERT_PYLIB)
	$(TORCH_HOME)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --target $(CONVERT_PYLIB) \
	  -r scripts/convert_requirements.txt
	touch $@

test: build fuzz-build pyenv $(CONVERT_PYLIB)/installed
	cd $(BUILD) && ctest --output-on-failure

# The library, spn-launch and the unit tests built by gcc with AddressSanitizer and
# UndefinedBehaviorSanitizer (-O1, line tables), running ctest's `unit` (CI runs it after
# `make test`). The options are in scripts/sanitizer-env.sh.
SANITIZE_FLAGS = -O1 -g1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
sanitize: deps pyenv
	@cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=None -DSPN_TORCH_DIR=$(SPN_TORCH) \
	  -DCMAKE_C_FLAGS="$(SANITIZE_FLAGS)" -DCMAKE_CXX_FLAGS="$(SANITIZE_FLAGS)" \
	  -DSPN_PYENV_DIR=$(abspath $(PYENV)) > /dev/null
	@cmake --build $(SANITIZE_BUILD) -j $(JOBS) --target spn_tests
	. scripts/sanitizer-env.sh && cd $(SANITIZE_BUILD) && ctest --output-on-failure -R '^unit$$'

# Builds only what it runs: the tests add a minute to a fresh build.
quickstart: configure
	@cmake --build $(BUILD) -j $(JOBS) --target spn-launch
	$(MPIRUN) -np 2 $(BUILD)/spn-launch experiments/quickstart.toml

zero-shot-study: configure
	@cmake --build $(BUILD) -j $(JOBS) --target spn-launch
	python3 scripts/write-random-clip.py datasets/clip-tiny-32x2 --image-size 32 --patch-size 8 --width-scale 2
	$(MPIRUN) -np 2 $(BUILD)/spn-launch experiments/shapes_clip_pretrain.toml
	$(MPIRUN) -np 2 $(BUILD)/spn-launch experiments/shapes_searle.toml
	$(MPIRUN) -np 2 $(BUILD)/spn-launch sweeps/zero_shot.toml
	$(BUILD)/spn-launch report runs/sweeps/zero_shot

# torchvision, Pillow and numpy for the loader benchmark's PyTorch peer, for the Python
# of the torch installation spn links (TORCH_HOME), kept under the build directory.
BENCH_PYLIB = $(BUILD)/bench-pylib
$(BENCH_PYLIB)/installed: bench/loader_requirements.txt
	rm -rf $(BENCH_PYLIB)
	$(TORCH_HOME)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --target $(BENCH_PYLIB) \
	  -r bench/loader_requirements.txt
	touch $@

# transformers (with its dependencies) for the CLIP training benchmark's peer, kept apart
# from the loader's --no-deps folder so pip resolves them.
CLIP_PYLIB = $(BUILD)/bench-pylib-clip
$(CLIP_PYLIB)/installed: bench/clip_requirements.txt
	rm -rf $(CLIP_PYLIB)
	$(TORCH_HOME)/bin/python -m pip install --quiet --disable-pip-version-check --target $(CLIP_PYLIB) \
	  -r bench/clip_requirements.txt
	touch $@

bench: build $(BENCH_PYLIB)/installed $(CLIP_PYLIB)/installed
	SPN_LOADER_PYTHON="env PYTHONPATH=$(abspath $(BENCH_PYLIB)) $(TORCH_HOME)/bin/python" $(BUILD)/spn-bench-loader
	$(MPIRUN) -np 1 $(BUILD)/spn-bench
	$(MPIRUN) -np 2 $(BUILD)/spn-bench
	$(MPIRUN) -np 1 $(BUILD)/spn-bench-softmax
	$(MPIRUN) -np 2 $(BUILD)/spn-bench-softmax
	$(MPIRUN) -np 1 $(BUILD)/spn-bench-mining
	$(MPIRUN) -np 2 $(BUILD)/spn-bench-mining
	SPN_BENCH_PYTHON=$(BENCH_PYTHON) $(MPIRUN) -x SPN_BENCH_PYTHON -np 1 $(BUILD)/spn-bench-clip
	SPN_TORCH_PYTHON="env PYTHONPATH=$(abspath $(CLIP_PYLIB)) $(TORCH_HOME)/bin/python" \
	  $(MPIRUN) -x SPN_TORCH_PYTHON -np 1 $(BUILD)/spn-bench-clip-train
	SPN_TORCH_PYTHON="env PYTHONPATH=$(abspath $(CLIP_PYLIB)) $(TORCH_HOME)/bin/python" \
	  $(MPIRUN) -x SPN_TORCH_PYTHON -np 1 $(BUILD)/spn-bench-sprc-train
	$(MPIRUN) -np 1 $(BUILD)/spn-bench-collectives
	$(MPIRUN) -np 2 $(BUILD)/spn-bench-collectives

format: test-deps
	bash scripts/check-format.sh --fix

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(SANITIZE_BUILD)
