"""imgedit-gan: DCGAN models for imgedit (generate, invert real images, edit along directions, morph)."""
