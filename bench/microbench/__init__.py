"""The parts of ``bench.micro``: servers, functions, one module per measured section, rendering."""
