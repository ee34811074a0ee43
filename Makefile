.PHONY: bench

PYTHON ?= python3

# Every performance figure with its target (measurements, not tests; CI does not run them).
# One benchmark: make bench NAME=first_paint
bench:
	$(PYTHON) -m bench $(NAME)
