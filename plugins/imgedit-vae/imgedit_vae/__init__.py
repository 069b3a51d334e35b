"""imgedit-vae: convolutional VAE models for imgedit (encode, generate, edit along directions, morph)."""
