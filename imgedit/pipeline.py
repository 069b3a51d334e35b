"""One pipeline for every verb: plan -> jobs -> execute -> commit -> summary.

A verb (:class:`Verb`: edit/stylize/interpolate/encode in :class:`imgedit.runner.Runner`,
``generate``, ``morph``, ``directions``) says what its jobs are, when an existing output is
skipped, and how a list of jobs is executed; :func:`run` does the rest the same way for all of
them: failed-before-start jobs, skip / ``--overwrite``, ``--dry-run``, temp cleanup, the progress
bar, Ctrl-C (exit 130) and the :class:`~imgedit.runner.Summary`.

The execute stage is the seam between the plan and the machines that do the work:

* :class:`LocalExecutor` - in this process (batches of same-size images, videos one by one);
* :class:`imgedit.rayengine.RayExecutor` - the same :meth:`Verb.execute` on the actors of a Ray
  cluster (``--engine ray``); only job rows go out and result rows come back.

A verb's :meth:`~Verb.execute` reports exactly one :class:`~imgedit.runner.ItemResult` per job
(done or failed) through ``emit``; whatever executes it never looks inside a model.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from imgedit.errors import UsageError
from imgedit.io.discover import Job

if TYPE_CHECKING:
    from imgedit.runner import ItemResult, RunConfig, Summary

ENGINES = ("local", "ray")


class Verb:
    """What a verb's jobs are and how they run. Subclasses set ``spec`` and ``cfg`` and implement
    :meth:`execute`; the other hooks have defaults that fit one-output-per-job verbs. A verb is
    pickled to the workers of a remote engine: :meth:`__getstate__` leaves the built model out."""

    spec = None
    cfg: "RunConfig"
    unit = "img"            #: progress unit
    progress_label = "images"
    _model = None

    # -- the plan --------------------------------------------------------------------------------
    def label(self, job: Job) -> str:
        """The item's ``input`` in results (a path, ``seed 3``, ``a.png -> b.png``)."""
        return str(job.source)

    def result(self, job: Job, status: str, reason: str | None = None, **kw) -> "ItemResult":
        from imgedit.runner import ItemResult

        return ItemResult(self.label(job), str(job.output), job.kind, status, reason, **kw)

    def skip(self, job: Job) -> "ItemResult | None":
        """The skipped result of a job whose output exists (``--overwrite`` not given), else None."""
        from imgedit.runner import SKIP_EXISTS, _empty_dir

        if job.output.exists() and not _empty_dir(job.output):
            return self.result(job, "skipped", SKIP_EXISTS)
        return None

    def planned(self, job: Job) -> "ItemResult":
        return self.result(job, "planned")

    def output_folders(self, jobs: list[Job]) -> set[Path]:
        """Where this run writes: a killed run's temps there are removed before it starts."""
        return {j.output.parent for j in jobs}

    # -- execution -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Build the model (a missing weight file or a broken plugin stops the run here)."""

    def execute(self, jobs: list[Job], emit: Callable[["ItemResult"], None], progress) -> None:
        raise NotImplementedError

    def finished(self, job: Job) -> bool:
        """Whether ``job``'s output is in place (an engine that lost a worker's report asks)."""
        return job.output.exists()

    def __getstate__(self):
        state = dict(self.__dict__)
        for k in [k for k in state if k in ("_model", "_opts", "_emit")]:
            state[k] = None
        return state


class LocalExecutor:
    """Runs the jobs in this process."""

    name = "local"

    def run(self, verb: Verb, jobs: list[Job], emit: Callable[["ItemResult"], None]) -> None:
        from imgedit.runner import _Progress, _remove_dead_temps

        verb.prepare()
        _remove_dead_temps(verb.output_folders(jobs))
        with _Progress(verb.cfg.progress) as progress:
            verb.execute(jobs, emit, progress)


def executor_for(cfg: "RunConfig"):
    if cfg.engine == "local":
        return LocalExecutor()
    if cfg.engine == "ray":
        from imgedit.rayengine import RayExecutor  # imports ray only now

        return RayExecutor(cfg)
    raise UsageError(f"--engine {cfg.engine!r}: choose {' or '.join(ENGINES)}")


def run(verb: Verb, jobs: list[Job], on_result: Callable[["ItemResult"], None] | None = None,
        started: float | None = None) -> "Summary":
    """Plan -> execute -> summary for ``jobs`` of ``verb`` under its RunConfig."""
    from imgedit.runner import Summary

    started = time.perf_counter() if started is None else started
    cfg = verb.cfg
    if cfg.engine not in ENGINES:
        raise UsageError(f"--engine {cfg.engine!r}: choose {' or '.join(ENGINES)}")
    summary = Summary(model=verb.spec.name if verb.spec is not None else None)

    def emit(result: "ItemResult") -> None:
        summary.results.append(result)
        if on_result:
            on_result(result)

    todo: list[Job] = []
    for job in jobs:
        if job.error:
            emit(verb.result(job, "failed", job.error))
            continue
        skipped = None if cfg.overwrite else verb.skip(job)
        if skipped is not None:
            emit(skipped)
        elif cfg.dry_run:
            emit(verb.planned(job))
        else:
            todo.append(job)
    if cfg.dry_run or not todo:  # a dry run never starts an engine
        summary.seconds = time.perf_counter() - started
        return summary
    try:
        executor_for(cfg).run(verb, todo, emit)
    except KeyboardInterrupt:
        summary.interrupted = True
    summary.seconds = time.perf_counter() - started
    return summary
