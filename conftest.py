"""Repository-wide pytest setup (core tests and every plugin's tests)."""
import os

# As imgedit itself does on import: OpenMP threads must not spin while waiting, or torch slows
# down ~100x when another process is busy on the same cores. Set before any test imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Models trained by tests go to a temp user models folder, never the user's real one (set before
# anything reads it, so module-scoped fixtures that export are covered too).
import tempfile  # noqa: E402

os.environ["IMGEDIT_MODELS_DIR"] = tempfile.mkdtemp(prefix="imgedit-test-models-")
