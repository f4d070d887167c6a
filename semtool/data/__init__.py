"""Image sources and groupings (each becomes an ``imageset`` file); csm and predictions readers.

``imageset``: the in-memory :class:`~semtool.data.imageset.ImageSet` and its file;
``fashion_mnist``, ``cifar``, ``folder``, ``imagenet``: the sources; ``groupings``: ``regroup``'s presets,
Latin-square groupings and hand-written specs; ``csmio``: reading and writing ``csm`` and
``predictions`` files and class lists, shared by the commands and the engines.
"""
