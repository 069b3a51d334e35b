"""Repository-wide pytest setup (core tests and every plugin's tests)."""
import os

# As imgedit itself does on import: OpenMP threads must not spin while waiting, or torch slows
# down ~100x when another process is busy on the same cores. Set before any test imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
