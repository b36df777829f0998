"""The bundled demo: a seeded, fictional domain (Kestrel Mutual), small enough to run the whole pipeline on a CPU."""
