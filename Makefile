# Two commands do everything on a fresh machine:
#   make demo   set up, then train briefly on the embedded digits and draw what was learned
#   make test   set up (including the G-code interpreter the tests check against), then run the tests
# Everything installs into ./.venv; system tools come from Debian's packages (needs root or sudo).

VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# torch 2.13.0 is pinned: on the project's machines it is the local CPU build (no CUDA downloads).
TORCH  ?= torch==2.13.0

.PHONY: setup system-deps bench-deps demo test benchmarks clean

setup: $(STAMP)

# benchmarks/pen_fidelity.py: potrace (a baseline) and the faces it draws letters with (printed,
# handwriting, Devanagari, Hangul), all from Debian's packages.
bench-deps:
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq --no-install-recommends potrace tesseract-ocr fonts-tlwg-purisa fonts-dkg-handwriting fonts-breip \
	  fonts-femkeklaver fonts-humor-sans fonts-rufscript fonts-ecolier-court fonts-dancingscript fonts-bwht \
	  fonts-liberation fonts-freefont-ttf fonts-lohit-deva fonts-unfonts-core >/dev/null

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# LinuxCNC's standalone G-code interpreter (rs274) validates every G-code file the tests write;
# the DejaVu fonts teach the handwriting tests' letter judge to read (tests/letter_judge.py);
# headless Chromium loads `igae preview`'s page and takes the screenshot tests/test_preview.py checks.
system-deps:
	@command -v rs274 >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends linuxcnc-uspace >/dev/null; }
	@[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends fonts-dejavu-core >/dev/null; }
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

demo: setup
	$(VENV)/bin/igae demo --overwrite

test: setup system-deps
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
