"""semtool: does an image classifier see the world the way meaning does?

The library is usable without the command line: ``semtool.measure`` holds the maths
(pure functions on arrays), ``semtool.store`` the HDF5 contract, and the engines
(``generate``, ``learn``, ``attack``) the expensive work. Heavy libraries (torch,
diffusers, transformers, matplotlib) are imported inside the functions that need them.
"""

__version__ = "0.1.0"
