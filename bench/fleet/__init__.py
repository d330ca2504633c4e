"""Fleet bench (issue 19): `python -m bench.fleet` -> bench/results/fleet.json + fleet.png."""
