"""imgedit-interp: recurrent flow-refinement frame interpolation for ``imgedit interpolate``.

:mod:`imgedit_interp.plugin` registers the model and the ``imgedit train interp`` command (no
torch import); :mod:`imgedit_interp.net` is the network, :mod:`imgedit_interp.model` the
:class:`~imgedit.api.ImageModel`, :mod:`imgedit_interp.data` and :mod:`imgedit_interp.train`
the training pipeline.
"""
