"""imgedit-style: style transfer for imgedit (``imgedit stylize``).

Modules: :mod:`.plugin` (registration, no torch), :mod:`.model` (the ``style`` model),
:mod:`.optimize` (Gatys), :mod:`.transformer` (fast feed-forward net), :mod:`.arbitrary`
(WCT/AdaIN with a trained decoder), :mod:`.color` (YCbCr helpers), :mod:`.temporal` (video
consistency), :mod:`.references` (the shipped paintings), :mod:`.train` (trainers).
"""
