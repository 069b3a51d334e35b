"""``--engine ray``: the pipeline's execute stage on a Ray cluster (Ray Data ``map_batches`` over
an actor pool). Imported only when asked for; needs ``pip install imgedit[ray]``.

The driver (this process) plans and skips as a local run does (:func:`imgedit.pipeline.run`);
only job rows go into the dataset (the pickled :class:`~imgedit.io.discover.Job`: paths and a few
options) and only result rows come back (a pickled :class:`~imgedit.runner.ItemResult`): no
pixels travel through the object store. Each actor builds the verb's model once, sets torch's
threads to its CPUs and reads and writes the files itself, through the same atomic writer, so
inputs and outputs must be on storage every node sees (a local instance: this machine's disks).

Failure isolation:

* a bad file is a failed row, as locally: :meth:`Verb.execute` catches per item, and the actor
  catches whatever escapes it (a raising map function would abort the whole Ray job);
* a worker that dies (a decoder that crashes the process) costs one retry of its batch
  (``max_task_retries=1``; actors restart at most once per batch: ``max_restarts`` is bounded, never
  Ray's endless default); a batch that still fails is dropped (``max_errored_blocks`` unlimited)
  and the driver reconciles its jobs: each is rerun alone (no retry) to find the file that
  crashes; a job that never reports is done if its output exists, else failed with "worker
  crashed";
* Ctrl-C stops the Ray job; a private instance is shut down, and the temps its workers left are
  removed (those of known workers on a cluster; the rest go at the next run or after a day).

A private instance (``--ray-address local``, the default without ``RAY_ADDRESS``) is sandboxed: no
usage stats, no dashboard, bound to 127.0.0.1, token authentication (Ray's default for a new
local cluster), its temp folder under the system temp dir (``IMGEDIT_RAY_TMPDIR`` overrides).
"""
from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Callable

from imgedit.errors import UsageError, debug_enabled

#: a batch whose worker died is retried this many times before its jobs are isolated one by one
BATCH_RETRIES = 1
#: images per Ray task, in model batches (--batch-size). 8 was measured no faster than 1 for the
#: style network at 512² on 2 cores (BENCHMARKS.md), and a crash costs the whole task a retry
TASK_BATCHES = 1
CRASHED = "worker crashed (the process running this file died; rerun it alone with --engine local to see why)"


def _import_ray(loopback: bool = False):
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if loopback:  # Ray binds a node's external address unless told it is not a cluster
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # (read by the processes it starts)
    elif "RAY_AUTH_MODE" not in os.environ and _token_available():
        # joining a token-authenticated cluster (Ray 2.6x's default): Ray reads the mode at import
        os.environ["RAY_AUTH_MODE"] = "token"
    os.environ.setdefault("RAY_DISABLE_DOCKER_CPU_WARNING", "1")
    if not debug_enabled():  # the core worker's own log lines (C++) on stderr
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UsageError("--engine ray needs Ray Data: pip install 'imgedit[ray]'") from None
    if not debug_enabled():  # our summary reports lost workers; Ray's tracebacks are for --debug
        for name in ("ray", "ray.data", "ray._private", "ray.util"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    if not debug_enabled():
        # the driver prints the raylet's error notices ("A worker died ...") on *stdout*, where
        # --json records go; the summary reports those workers' files instead
        import ray._private.worker as _w

        _w.print_to_stdstream = lambda *a, **k: None
    if loopback:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False  # (this process read it at import)
    return ray


@contextlib.contextmanager
def _quiet_stderr(quiet: bool):
    """Ray's C++ core prints lines on file descriptor 2 while it starts (its log level, token
    notices); a run's stderr is for imgedit's lines. --debug keeps them."""
    if not quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _token_available() -> bool:
    return bool(os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
                or (Path.home() / ".ray" / "auth_token").is_file())


def ray_tmpdir() -> Path:
    """Ray's session folder for a private instance (short: it holds unix sockets)."""
    base = os.environ.get("IMGEDIT_RAY_TMPDIR") or os.path.join(tempfile.gettempdir(), f"imgedit-ray-{os.getuid()}")
    if len(base) > 40:  # its session folder's socket paths must stay under 108 bytes
        raise UsageError(f"Ray's temp folder {base} is too long a path (unix sockets go there)",
                         hint="set IMGEDIT_RAY_TMPDIR (or TMPDIR) to a short path such as /tmp/imgedit-ray")
    return Path(base)


def connect(cfg) -> bool:
    """Start a private instance or join a cluster (``cfg.ray_address``); True when this process
    started it (and must shut it down)."""
    address = cfg.ray_address or os.environ.get("RAY_ADDRESS") or "local"
    ray = _import_ray(loopback=address == "local")
    if ray.is_initialized():
        return False
    quiet = not debug_enabled()
    if address == "local":
        tmp = ray_tmpdir()
        tmp.mkdir(parents=True, exist_ok=True)
        cpus = os.cpu_count() or 1
        with _quiet_stderr(quiet):
            ray.init(address="local", num_cpus=cpus, num_gpus=None, include_dashboard=False,
                     _node_ip_address="127.0.0.1", _temp_dir=str(tmp), configure_logging=not quiet,
                     log_to_driver=not quiet, logging_level=logging.ERROR)
        return True
    host, sep, port = address.rpartition(":")
    if sep and port.isdigit():  # Ray waits minutes for a head that is not there: ask first
        import socket

        try:
            socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=5).close()
        except OSError as exc:
            raise UsageError(f"--ray-address {address}: no Ray head answers there ({exc.strerror or exc})",
                             hint="start one with `ray start --head`, or use --ray-address local") from None
    try:
        with _quiet_stderr(quiet):
            ray.init(address=address, configure_logging=not quiet, log_to_driver=not quiet,
                     logging_level=logging.ERROR)
    except ConnectionError as exc:
        raise UsageError(f"--ray-address {address}: cannot join the Ray cluster ({' '.join(str(exc).split())[:200]})",
                         hint="start one with `ray start --head`, or use --ray-address local") from None
    return False


class _Worker:
    """The actor: the verb (and its model) built once; each batch of job rows -> result rows."""

    def __init__(self, verb: bytes, threads: int):
        import torch

        from imgedit.io.atomic import _host_tag
        from imgedit.runner import _fail_reason

        if threads > 0:
            torch.set_num_threads(threads)
        self.owner = f"{os.getpid()}-{_host_tag()}"
        self.verb = pickle.loads(verb)
        self.error: str | None = None
        try:
            self.verb.prepare()
        except Exception as exc:  # noqa: BLE001 - every job of this actor fails with the reason
            self.error = _fail_reason(exc)

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        from imgedit.runner import _Progress, _fail_reason

        idx = [int(i) for i in batch["i"]]
        jobs = [pickle.loads(bytes(b)) for b in batch["job"]]
        by_output = {str(j.output): i for i, j in zip(idx, jobs)}
        results: list[tuple[int, object]] = []
        if self.error is None:
            def emit(r):
                results.append((by_output.get(r.output, -1), r))
            try:
                self.verb.execute(jobs, emit, _Progress(False))
            except Exception as exc:  # noqa: BLE001 - never let a batch raise: it would abort the job
                reason = _fail_reason(exc)
                seen = {i for i, _ in results}
                results += [(i, self.verb.result(j, "failed", reason)) for i, j in zip(idx, jobs) if i not in seen]
        else:
            results = [(i, self.verb.result(j, "failed", self.error)) for i, j in zip(idx, jobs)]
        return {"i": np.array([i for i, _ in results], dtype=np.int64),
                "owner": np.array([self.owner] * len(results), dtype=object),
                "result": np.array([pickle.dumps(r) for _, r in results], dtype=object)}


class RayExecutor:
    name = "ray"

    def __init__(self, cfg):
        self.cfg = cfg
        if cfg.workers is not None and cfg.workers < 1:
            raise UsageError("--workers must be at least 1")
        if cfg.cpus_per_worker <= 0:
            raise UsageError("--cpus-per-worker must be positive")
        if cfg.gpus_per_worker < 0:
            raise UsageError("--gpus-per-worker must be 0 or more")
        self.owners: set[str] = set()
        self.stop = threading.Event()

    def _catch_signals(self) -> dict:
        """SIGINT / SIGTERM set :attr:`stop` (checked at every result row) as well as raising
        KeyboardInterrupt: Ray's threads can swallow the exception; the flag still stops the run."""
        import signal

        if threading.current_thread() is not threading.main_thread():
            return {}

        def on_signal(signum, frame):
            self.stop.set()
            raise KeyboardInterrupt

        return {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    def workers(self, n_batches: int) -> int:
        import ray

        if self.cfg.workers:
            return max(1, min(self.cfg.workers, n_batches))
        res = ray.cluster_resources()
        n = int(res.get("CPU", 1) // self.cfg.cpus_per_worker)
        if self.cfg.gpus_per_worker:
            n = min(n, int(res.get("GPU", 0) // self.cfg.gpus_per_worker))
        return max(1, min(n, n_batches))

    def _pass(self, verb, jobs, indices: list[int], batch_size: int, retries: int,
              on_row: Callable[[int, object], None]) -> None:
        import ray

        ctx = ray.data.DataContext.get_current()
        ctx.max_errored_blocks = -1          # a batch whose worker died is dropped, not fatal
        ctx.enable_progress_bars = False     # the driver shows one bar of its own
        ctx.print_on_execution_start = False
        rows = [{"i": i, "job": pickle.dumps(jobs[i])} for i in indices]
        n_batches = -(-len(rows) // batch_size)
        n_workers = self.workers(n_batches)
        ds = ray.data.from_items(rows, override_num_blocks=min(n_batches, 10_000))
        threads = max(1, int(self.cfg.cpus_per_worker))
        # one batch in flight per actor: a worker that dies takes only its own batch with it
        pool = ray.data.ActorPoolStrategy(size=n_workers, max_tasks_in_flight_per_actor=1)
        with warnings.catch_warnings():  # max_restarts / max_task_retries have no named parameter yet
            warnings.simplefilter("ignore")
            ds = ds.map_batches(
                _Worker, fn_constructor_kwargs={"verb": pickle.dumps(verb), "threads": threads},
                batch_size=batch_size, batch_format="numpy", compute=pool,
                num_cpus=self.cfg.cpus_per_worker, num_gpus=self.cfg.gpus_per_worker or None,
                # Ray's defaults restart actors and retry tasks forever: a crashing file would loop
                max_restarts=n_batches * (retries + 1), max_task_retries=retries)
        for row in ds.iter_rows():
            if self.stop.is_set():  # a Ctrl-C that Ray's own threads swallowed
                raise KeyboardInterrupt
            self.owners.add(str(row["owner"]))
            on_row(int(row["i"]), pickle.loads(bytes(row["result"])))

    def run(self, verb, jobs, emit) -> None:
        from imgedit.runner import _Progress, _remove_dead_temps

        import signal

        started_here = connect(self.cfg)  # (before ray is imported: it reads its settings then)
        import ray

        old_handlers = self._catch_signals()

        folders = verb.output_folders(jobs)
        try:
            _remove_dead_temps(folders)
            with _Progress(self.cfg.progress) as progress:
                task = progress.task(verb.progress_label, len(jobs), verb.unit)
                reported: set[int] = set()

                def on_row(i: int, result) -> None:
                    if i in reported or i < 0:
                        return
                    reported.add(i)
                    emit(result)
                    task.advance()

                images_only = all(j.kind == "image" for j in jobs)
                batch = max(1, self.cfg.batch_size) * TASK_BATCHES if images_only else 1
                self._pass(verb, jobs, list(range(len(jobs))), batch, BATCH_RETRIES, on_row)
                lost = [i for i in range(len(jobs)) if i not in reported]
                if len(lost) > 1 or (lost and batch > 1):  # find the file that crashes: each alone
                    self._pass(verb, jobs, lost, 1, 0, on_row)
                for i in lost:
                    if i in reported:
                        continue
                    job = jobs[i]
                    if verb.finished(job):
                        emit(verb.result(job, "done", warnings=["its worker died after writing it"]))
                    else:
                        emit(verb.result(job, "failed", CRASHED))
                    reported.add(i)
                    task.advance()
                task.done()
        except KeyboardInterrupt:
            self._stop(started_here, folders)
            started_here = False
            raise
        finally:
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            if started_here:
                ray.shutdown()

    def _stop(self, started_here: bool, folders) -> None:
        """Ctrl-C: end the Ray job (its actors die with the driver) and remove their temps."""
        import ray

        from imgedit.io.atomic import TEMP_MARKER, cleanup_stale_temps

        ray.shutdown()
        deadline = time.monotonic() + 10
        for folder in folders:
            cleanup_stale_temps(folder)  # this host's temps of processes that are gone
            if not Path(folder).is_dir():
                continue
            for entry in Path(folder).iterdir():  # the cluster's workers that reported
                if TEMP_MARKER in entry.name and any(f"{TEMP_MARKER}{o}-" in entry.name for o in self.owners):
                    while entry.exists() and time.monotonic() < deadline:
                        try:
                            if entry.is_dir():
                                import shutil

                                shutil.rmtree(entry)
                            else:
                                entry.unlink()
                        except OSError:
                            time.sleep(0.2)
