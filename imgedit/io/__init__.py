"""Reading and writing images and videos (lazy: import the submodules you need)."""
