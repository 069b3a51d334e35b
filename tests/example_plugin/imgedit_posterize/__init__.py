"""imgedit-posterize: the example plugin of imgedit's README tutorial."""
