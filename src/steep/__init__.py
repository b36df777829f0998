"""steep: turn an open base model into a company's own domain expert, on its own hardware.

Run the demo:  make demo        Run the tests:  make test
"""

__version__ = "0.1.0"
