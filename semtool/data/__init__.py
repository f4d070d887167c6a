"""Image sources and groupings: each source becomes an ``imageset`` file.

``imageset``: the in-memory :class:`~semtool.data.imageset.ImageSet` and its file;
``fashion_mnist``, ``cifar``, ``folder``: the sources; ``groupings``: ``regroup``'s presets,
Latin-square groupings and hand-written specs.
"""
