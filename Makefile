# Thin aliases for the scripts in scripts/, which are the real task runner (CI calls them too).
.PHONY: setup test check fix demo postgres-start postgres-stop

setup:
	scripts/setup

test:
	scripts/test

check:
	scripts/check

fix:
	scripts/check --fix

demo:
	scripts/demo

postgres-start:
	scripts/postgres start

postgres-stop:
	scripts/postgres stop

bench-%:
	scripts/bench $*
