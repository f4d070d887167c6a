"""The training loop: soft-label SGD with optional hybrids, per-epoch tracking, resume, DDP.

Recipe (Abreu, Vaska, Helus 2023, after the robustness library's CIFAR defaults): SGD
with lr 0.1, momentum 0.9, weight decay 5e-4, batch 100, cosine (or step) schedule over
100 epochs, random crop with 4-pixel zero padding and horizontal flip. Hybrids are added
per instance with probability p (:mod:`semtool.learn.hybrids`); the loss is the soft-label
cross-entropy. After each epoch the eval pass feeds the tracking
(:mod:`semtool.learn.tracking`), a checkpoint is written atomically, and ``resume``
continues from it.

Determinism: every epoch draws its shuffling from a generator seeded by (seed, epoch),
and its augmentation, hybrid choice and any dropout from generators seeded by (seed,
epoch, rank). A resumed run therefore repeats exactly what the uninterrupted run did; on
the CPU (deterministic kernels) it ends with identical weights.

Distributed (``torchrun``): WORLD_SIZE/RANK from the environment, gloo on the CPU and NCCL
on GPUs; every rank takes a DistributedSampler-like shard of the same permutation and
``batch_size / world_size`` instances per step, so the global batch stays ``batch_size``.
Only rank 0 evaluates and writes files.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from semtool import _runtime, store
from semtool.data.csmio import read_reference
from semtool.data.imageset import ImageSet, read_imageset
from semtool.errors import UserError
from semtool.learn.augment import random_crop_flip
from semtool.learn.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from semtool.learn.hybrids import HybridPool, load_hybrids
from semtool.learn.losses import one_hot, soft_cross_entropy
from semtool.learn.tracking import track
from semtool.measure.align import check_same_classes
from semtool.models._build import build_classifier, check_architecture, head_key, to_pixels
from semtool.models._device import resolve_device
from semtool.models._io import model_metadata, save_model
from semtool._progress import progress

SCHEDULES = ("cosine", "step")
AMP_MODES = ("auto", "bf16", "fp16", "off")
# Options that define the optimisation trajectory: a checkpoint resumes only with the same.
_TRAJECTORY = ("architecture", "epochs", "batch_size", "lr", "momentum", "weight_decay", "schedule", "augment",
               "hybrids", "hybrid_prob", "hybrid_target_weight", "seed", "cifar_stem", "track_every", "init")


@dataclass
class TrainOptions:
    """Everything ``semtool train`` accepts (see its --help for each option)."""

    data: str
    output: str
    architecture: str = "convnet"
    epochs: int = 100
    batch_size: int = 100
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    augment: bool = True
    hybrids: list[str] = field(default_factory=list)
    hybrid_prob: float = 0.25
    hybrid_target_weight: float = 0.5
    eval: str | None = None
    curves: str | None = None
    track_against: list[str] = field(default_factory=list)
    label: str | None = None
    cifar_stem: bool = False
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    eval_batch_size: int = 500
    track_every: float = 1.0
    resume: bool = False
    force: bool = False
    init: str | None = None  # a pretrained network to fine-tune (a model specification)
    trust_remote_code: bool = False

    def trajectory(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: d[k] for k in _TRAJECTORY}


@dataclass
class TrainResult:
    output: Path
    curves: Path | None
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    tracking_seconds: list[float]
    wrote_files: bool = True  # False on the ranks > 0 of a distributed run


# ------------------------------------------------------------------------ distributed
_Dist = _runtime.Ranks  # this process's rank, world size and local rank


def _dist_from_env() -> _Dist:
    r = _runtime.ranks()
    return r if r.world > 1 else _Dist()


def _seed(*parts: int) -> int:
    """A 63-bit seed from integers (stable across runs and machines)."""
    h = hashlib.sha256(",".join(str(int(p)) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little") & ((1 << 63) - 1)


# ------------------------------------------------------------------------ validation
def _validate(opts: TrainOptions, dist: _Dist) -> None:
    if opts.epochs < 1:
        raise UserError(f"--epochs: expected at least 1, got {opts.epochs}")
    if opts.batch_size < 1:
        raise UserError(f"--batch-size: expected at least 1, got {opts.batch_size}")
    if opts.batch_size % dist.world:
        raise UserError(f"--batch-size: {opts.batch_size} does not split evenly over {dist.world} processes")
    if not 0.0 <= opts.hybrid_prob <= 1.0:
        raise UserError(f"--hybrid-prob: expected a probability in [0, 1], got {opts.hybrid_prob:g}")
    if not 0.0 <= opts.hybrid_target_weight <= 1.0:
        raise UserError(f"--hybrid-target-weight: expected a weight in [0, 1], got {opts.hybrid_target_weight:g}")
    if opts.lr <= 0:
        raise UserError(f"--lr: expected a positive learning rate, got {opts.lr:g}")
    if not 0.0 <= opts.momentum < 1.0:
        raise UserError(f"--momentum: expected a value in [0, 1), got {opts.momentum:g}")
    if opts.weight_decay < 0:
        raise UserError(f"--weight-decay: expected a value ≥ 0, got {opts.weight_decay:g}")
    if opts.eval_batch_size < 1:
        raise UserError(f"--eval-batch-size: expected at least 1, got {opts.eval_batch_size}")
    if not 0.0 < opts.track_every <= 1.0:
        raise UserError(f"--track-every: expected a fraction of an epoch in (0, 1], got {opts.track_every:g}")
    if opts.schedule not in SCHEDULES:
        raise UserError(f"--schedule: expected one of {', '.join(SCHEDULES)}, got '{opts.schedule}'")
    if opts.amp not in AMP_MODES:
        raise UserError(f"--amp: expected one of {', '.join(AMP_MODES)}, got '{opts.amp}'")
    if opts.init is None:
        check_architecture(opts.architecture, cifar_stem=opts.cifar_stem)
    elif opts.cifar_stem:
        raise UserError("--cifar-stem: not with --init (a pretrained network keeps its stem; it resizes its input)")
    store.check_distinct({"-o": opts.output, "--curves": opts.curves},
                         [("DATA", opts.data), ("--eval", opts.eval), *(("--hybrids", p) for p in opts.hybrids),
                          *(("--track-against", p) for p in opts.track_against)])
    store.check_output(opts.output, force=opts.force or opts.resume)
    if str(opts.output) == "-":
        raise UserError("-o: a model file needs a path, not '-'")
    if Path(opts.output).suffix.lower() != ".safetensors":
        # one extension for every command: a .pt name would promise a PyTorch pickle, which
        # the readers of .pt files (torch.load) would then fail to open
        raise UserError(f"-o {opts.output}: semtool writes models as safetensors; name the file "
                        f"{Path(opts.output).with_suffix('.safetensors').name}")
    if opts.curves:
        store.check_output(opts.curves, force=opts.force or opts.resume, kind="curves")
    ckpt = checkpoint_path(opts.output)
    if ckpt.exists() and not opts.resume and not opts.force:
        raise UserError(f"{opts.output}: an interrupted run left {ckpt.name}; use --resume to continue it or --force to start over")
    if opts.resume and not ckpt.exists():
        raise UserError(f"--resume: no checkpoint {ckpt} to continue from")


def _amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda":
        if mode in ("bf16", "fp16"):
            raise UserError(f"--amp {mode}: mixed precision is for CUDA devices only (use --amp off on {device.type})")
        return None
    if mode == "off":
        return None
    if mode == "fp16":
        return torch.float16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


# ------------------------------------------------------------------------ the loop
class _Trainer:
    def __init__(self, opts: TrainOptions, dist: _Dist):
        self.opts, self.dist = opts, dist
        _validate(opts, dist)
        dev = resolve_device(opts.device)
        if dist.on and dev.type == "cuda":
            dev = torch.device("cuda", dist.local)
        self.device = dev
        self.amp = _amp_dtype(opts.amp, dev)
        self.channels_last = dev.type == "cuda"

        # inputs, all checked before any training
        self.train_set = read_imageset(opts.data, min_classes=2)
        self.classes = self.train_set.classes
        self.eval_set: ImageSet | None = None
        if opts.eval:
            # the training classes in another order: matched by name
            self.eval_set = read_imageset(opts.eval, min_classes=1).in_class_order(self.classes)
            check_same_classes(self.classes, self.eval_set.classes, str(opts.eval), str(opts.data))
            if self.eval_set.images.shape[1:] != self.train_set.images.shape[1:]:
                raise UserError(f"{opts.eval}: images of shape {self.eval_set.images.shape[1:]}, "
                                f"training images are {self.train_set.images.shape[1:]}")
        self.pool: HybridPool | None = None
        if opts.hybrids:
            self.pool = load_hybrids(opts.hybrids, self.classes, tuple(self.train_set.images.shape[1:])).to(dev)
            empty = [c for c, n in zip(self.classes, self.pool.count.tolist()) if n == 0]
            if empty and dist.main:
                _runtime.log(f"note: no hybrids with base class {', '.join(empty[:5])}"
                             + (" …" if len(empty) > 5 else ""))
        self.refs = [read_reference(p, self.classes) for p in opts.track_against]
        names = [n for n, _ in self.refs]
        if len(set(names)) != len(names):
            raise UserError("--track-against: two reference files share a name (stem); rename one")
        if opts.track_against and not opts.curves and dist.main:  # after the checks: a mistake stays one line
            _runtime.log("note: --track-against without --curves: values appear in the epoch lines only")

        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
        else:
            torch.use_deterministic_algorithms(True, warn_only=True)

        # data on the device as uint8 (N, C, H, W)
        self.x = torch.from_numpy(np.ascontiguousarray(self.train_set.images.transpose(0, 3, 1, 2))).to(dev)
        self.y = torch.from_numpy(self.train_set.labels).to(dev)
        if self.eval_set is not None:
            self.ex = torch.from_numpy(np.ascontiguousarray(self.eval_set.images.transpose(0, 3, 1, 2))).to(dev)
            self.ey = self.eval_set.labels

        imgs = self.train_set.images
        mean = [float(imgs[..., c].mean() / 255.0) for c in range(imgs.shape[3])]
        std = [max(float(imgs[..., c].std() / 255.0), 1e-3) for c in range(imgs.shape[3])]
        torch.manual_seed(opts.seed)
        self.init_meta: dict[str, Any] | None = None
        if opts.init:  # fine-tuning: the network's own preprocessing and weights, a new head if classes differ
            from semtool.models._open import init_from

            model, self.init_meta = init_from(opts.init, list(self.classes), imgs.shape[3],
                                              trust_remote_code=opts.trust_remote_code)
        else:
            model = build_classifier(opts.architecture, len(self.classes), in_channels=imgs.shape[3],
                                     input_size=imgs.shape[1:3], mean=mean, std=std, cifar_stem=opts.cifar_stem)
        self.head = head_key(model)
        model.to(dev)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        self.model = model
        self.optimizer = torch.optim.SGD(model.parameters(), lr=opts.lr, momentum=opts.momentum,
                                         weight_decay=opts.weight_decay)
        if opts.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=opts.epochs)
        else:  # ÷10 at 50 % and 75 % of the epochs
            ms = sorted({max(1, int(opts.epochs * 0.5)), max(1, int(opts.epochs * 0.75))})
            self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, milestones=ms, gamma=0.1)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp == torch.float16 else None

        self.history: dict[str, list[float]] = {}
        self.snapshots: dict[str, list[np.ndarray]] = {"ncsm": [], "ccsm": []}
        self.start_epoch = 1
        self.ckpt = checkpoint_path(opts.output)
        if opts.resume:
            self._restore()
        self.ddp = model
        if dist.on:
            from torch.nn.parallel import DistributedDataParallel

            self.ddp = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
        self.epoch_seconds: list[float] = []
        self.tracking_seconds: list[float] = []

    # -------------------------------------------------------------- checkpoints
    def _state(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "trajectory": json.dumps(self.opts.trajectory(), sort_keys=True),
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else {},
            "history": {k: list(v) for k, v in self.history.items()},
            "snapshots": {k: torch.from_numpy(np.stack(v)) for k, v in self.snapshots.items() if v},
            "epoch_seconds": list(self.epoch_seconds),
        }

    def _restore(self) -> None:
        state = load_checkpoint(self.ckpt)
        saved = json.loads(state["trajectory"])
        now = self.opts.trajectory()
        diff = [k for k in now if json.dumps(saved.get(k)) != json.dumps(now[k])]
        if diff:
            k = diff[0]
            raise UserError(f"--resume: the checkpoint was made with {k}={saved.get(k)!r}, not {now[k]!r}; "
                            "use the same options or --force to start over")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.snapshots = {k: [m.numpy() for m in state["snapshots"].get(k, [])] for k in ("ncsm", "ccsm")}
        self.start_epoch = int(state["epoch"]) + 1
        if self.dist.main:
            _runtime.log(f"resuming after epoch {state['epoch']} from {self.ckpt}")

    # -------------------------------------------------------------- one epoch
    def _autocast(self):
        if self.amp is None:
            import contextlib

            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp)

    def _prepare(self, xb: torch.Tensor) -> torch.Tensor:
        x = to_pixels(xb)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def train_epoch(self, epoch: int) -> dict[str, float]:
        opts, dist = self.opts, self.dist
        n = self.x.shape[0]
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(_seed(opts.seed, epoch)))
        per_rank = math.ceil(n / dist.world)
        if per_rank * dist.world > n:  # pad like DistributedSampler: every rank the same length
            perm = torch.cat([perm, perm[: per_rank * dist.world - n]])
        shard = perm[dist.rank::dist.world].to(self.device)
        gen = torch.Generator().manual_seed(_seed(opts.seed, epoch, dist.rank, 1))
        torch.manual_seed(_seed(opts.seed, epoch, dist.rank, 2))  # dropout and the like
        local_bs = opts.batch_size // dist.world
        steps = math.ceil(shard.shape[0] / local_bs)
        every = max(1, round(opts.track_every * steps)) if opts.track_every < 1 else steps
        c = len(self.classes)
        self.ddp.train()
        stats = torch.zeros(4, dtype=torch.float64, device=self.device)  # loss·k, k, correct, originals
        with progress(steps, f"epoch {epoch}/{opts.epochs}", unit="batches",
                      enabled=None if dist.main else False) as bar:
            for s in range(steps):
                _debug_kill(epoch, s)
                idx = shard[s * local_bs:(s + 1) * local_bs]
                xb, yb = self.x[idx], self.y[idx]
                targets = one_hot(yb, c)
                if self.pool is not None and opts.hybrid_prob > 0:
                    hidx = self.pool.sample(yb, opts.hybrid_prob, gen)[1].to(self.device)
                    if hidx.numel():
                        xb = torch.cat([xb, self.pool.images[hidx]])
                        targets = torch.cat([targets, self.pool.targets(hidx, c, opts.hybrid_target_weight)])
                if opts.augment:
                    xb = random_crop_flip(xb, gen)
                x = self._prepare(xb)
                with self._autocast():
                    logits = self.ddp(x)
                loss = soft_cross_entropy(logits, targets)
                self.optimizer.zero_grad(set_to_none=True)
                if self.scaler is not None:
                    self.scaler.scale(loss).backward()
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                else:
                    loss.backward()
                    self.optimizer.step()
                with torch.no_grad():
                    k = targets.shape[0]
                    stats += torch.stack([loss.detach().double() * k, torch.tensor(k, dtype=torch.float64, device=self.device),
                                          (logits[: yb.shape[0]].argmax(1) == yb).sum().double(),
                                          torch.tensor(yb.shape[0], dtype=torch.float64, device=self.device)])
                bar.advance(1)
                if dist.main and (s + 1) % every == 0 and s + 1 < steps:
                    st = stats.tolist()  # this rank's running values so far
                    self._record(epoch - 1 + (s + 1) / steps, {"loss": st[0] / st[1], "accuracy/train": st[2] / st[3]},
                                 float(self.optimizer.param_groups[0]["lr"]))
                    self.ddp.train()
        if dist.on:
            import torch.distributed as tdist

            tdist.all_reduce(stats)
            # DDP keeps buffers in step only at the start of a forward: the last step left
            # each rank with its own BatchNorm statistics. Average them, so every rank
            # evaluates and saves the same model.
            for buf in self.model.buffers():
                if buf.is_floating_point():
                    tdist.all_reduce(buf)
                    buf.div_(dist.world)
        st = stats.tolist()
        return {"loss": st[0] / st[1], "accuracy/train": st[2] / st[3]}

    @torch.no_grad()
    def evaluate(self) -> np.ndarray | None:
        """Predictions (N,) of the eval set, or None without --eval."""
        if self.eval_set is None:
            return None
        self.model.eval()
        preds = []
        bs = self.opts.eval_batch_size
        for s in range(0, self.ex.shape[0], bs):
            with self._autocast():
                logits = self.model(self._prepare(self.ex[s:s + bs]))
            preds.append(logits.argmax(1).cpu())
        return torch.cat(preds).numpy().astype(np.int64) if preds else np.zeros(0, np.int64)

    def _record(self, position: float, values: dict[str, float], lr: float) -> float:
        """Evaluate, track, and append one point (at ``position`` epochs) to the curves.

        Returns the seconds spent on tracking proper (the eval pass excluded: it runs for
        the eval accuracy anyway).
        """
        preds = self.evaluate()
        t1 = time.perf_counter()
        weight = self.model.state_dict()[self.head].detach().float().cpu().numpy().astype(np.float64)
        weight = weight.reshape(weight.shape[0], -1)
        labels = self.ey if self.eval_set is not None else np.zeros(0, np.int64)
        tracked, snaps = track(weight, labels, preds, self.refs, self.train_set.groups)
        track_s = time.perf_counter() - t1
        values.update(tracked)
        values["lr"] = lr
        values["epochs"] = position
        for k, v in values.items():
            self.history.setdefault(k, []).append(float(v))
        for k in ("ncsm", "ccsm"):
            self.snapshots[k].append(snaps[k])
        return track_s

    # -------------------------------------------------------------- the run
    def run(self) -> TrainResult:
        opts, dist = self.opts, self.dist
        last: dict[str, float] = {}
        for epoch in range(self.start_epoch, opts.epochs + 1):
            t0 = time.perf_counter()
            lr = float(self.optimizer.param_groups[0]["lr"])
            values = self.train_epoch(epoch)
            self.scheduler.step()
            if dist.main:
                track_s = self._record(float(epoch), values, lr)
                secs = time.perf_counter() - t0
                self.epoch_seconds.append(secs)
                self.tracking_seconds.append(track_s)
                save_checkpoint(self.ckpt, self._state(epoch))
                _runtime.log(_summary(epoch, opts.epochs, values, [n for n, _ in self.refs], secs, track_s))
                last = values
            if dist.on:
                import torch.distributed as tdist

                tdist.barrier()
        curves_path = None
        if dist.main:
            if opts.curves:
                curves_path = self._write_curves()
            metrics = {k: last.get(k, self.history.get(k, [math.nan])[-1])
                       for k in ("loss", "accuracy/train", "accuracy/eval", "accuracy/superclass")}
            arch = self.init_meta["architecture"] if self.init_meta else opts.architecture
            meta = model_metadata(self.model, architecture=arch, input_size=self.train_set.input_size,
                                  cifar_stem=opts.cifar_stem, epoch=opts.epochs, seed=opts.seed,
                                  metrics={k: v for k, v in metrics.items() if not math.isnan(v)},
                                  **self.train_set.class_info())
            if opts.init:
                meta["init"] = opts.init  # how load_model rebuilds the architecture
            # the whole chain (the data's own steps, this train step with the inputs' SHA-256)
            # travels with the model into every file made from it
            meta["provenance"] = store.provenance_chain(command="train", parameters=dataclasses.asdict(opts),
                                                        inputs=self._inputs())
            save_model(opts.output, self.model, meta)
            # The model and curves are in place: from here a Ctrl-C keeps them (it removes a
            # run's outputs only while the checkpoint that can make them again exists, and
            # that checkpoint goes next).
            done = {Path(p).resolve() for p in (opts.output, curves_path) if p is not None}
            _runtime.committed[:] = [p for p in _runtime.committed if Path(p).resolve() not in done]
            self.ckpt.unlink(missing_ok=True)
        _debug_hash(self.model, dist)
        return TrainResult(Path(opts.output), curves_path, self.history, self.epoch_seconds, self.tracking_seconds,
                           wrote_files=dist.main)

    def _inputs(self) -> list[str]:
        opts = self.opts
        return [opts.data, *([opts.eval] if opts.eval else []), *opts.hybrids, *opts.track_against]

    def _write_curves(self) -> Path:
        opts = self.opts
        params = dataclasses.asdict(opts)
        from semtool.kinds import Curves

        # only what was measured: without --eval there is no eval accuracy, CCSM or IDM,
        # and an all-NaN series would only draw empty plot panels
        series = {k: np.asarray(v, dtype=np.float64) for k, v in self.history.items()
                  if k != "epochs" and np.isfinite(np.asarray(v, dtype=np.float64)).any()}
        snapshots = {k: np.stack(v).astype(np.float64) for k, v in self.snapshots.items()
                     if np.isfinite(np.stack(v)).any()}
        Curves(str(opts.curves), np.asarray(self.history.get("epochs", []), dtype=np.float64), series,
               snapshots, list(self.classes), opts.label or Path(opts.output).stem).write(
            opts.curves, force=True, command="train", parameters=params, inputs=self._inputs())
        return Path(opts.curves)


def _summary(epoch: int, epochs: int, v: dict[str, float], refs: Sequence[str], secs: float, track_s: float) -> str:
    parts = [f"epoch {epoch}/{epochs}", f"loss {v['loss']:.4f}", f"train {v['accuracy/train']:.2%}"]
    if not math.isnan(v.get("accuracy/eval", math.nan)):
        parts.append(f"eval {v['accuracy/eval']:.2%}")
    if not math.isnan(v.get("accuracy/superclass", math.nan)):
        parts.append(f"superclass {v['accuracy/superclass']:.2%}")
    for r in refs:
        parts.append(f"SAI(ncsm,{r}) {v[f'sai/{r}/ncsm']:.3f}")
    parts.append(f"lr {v['lr']:.4g}")
    parts.append(f"{secs:.1f} s (tracking {1000 * track_s:.1f} ms)")
    return "  ".join(parts)


# ------------------------------------------------------------------------ test aids
def _debug_kill(epoch: int, step: int) -> None:
    """``SEMTOOL_DEBUG_SIGKILL_AT=E:S`` kills this process with SIGKILL at epoch E, step S.

    Used by the resume test to simulate ``kill -9`` at a reproducible point.
    """
    at = os.environ.get("SEMTOOL_DEBUG_SIGKILL_AT")
    if at and at == f"{epoch}:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 over the state dict (names and raw bytes, in order)."""
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _debug_hash(model: torch.nn.Module, dist: _Dist) -> None:
    """``SEMTOOL_DEBUG_WEIGHTS_DIR=D``: each rank writes D/rank<r>.sha256 (the DDP test)."""
    folder = os.environ.get("SEMTOOL_DEBUG_WEIGHTS_DIR")
    if folder:
        Path(folder, f"rank{dist.rank}.sha256").write_text(weights_digest(model))


def train(opts: TrainOptions) -> TrainResult:
    """Train a classifier as :class:`TrainOptions` says; write the model (and curves).

    Under ``torchrun`` (WORLD_SIZE > 1) this joins the process group (gloo on the CPU,
    NCCL on CUDA) and leaves it at the end.
    """
    dist = _dist_from_env()
    if dist.on:
        import torch.distributed as tdist

        if not tdist.is_initialized():
            want_cuda = opts.device.startswith("cuda") or (opts.device == "auto" and torch.cuda.is_available())
            if want_cuda:
                torch.cuda.set_device(dist.local_rank)
            tdist.init_process_group("nccl" if want_cuda else "gloo")
        trainer = None
        try:
            with torch.enable_grad():
                trainer = _Trainer(opts, dist)
                result = trainer.run()
            # Leave together: rank 0 writes the files after the last epoch's barrier, and a
            # rank that tears gloo down while its peer still holds the connection can abort.
            tdist.barrier()
            return result
        finally:
            # DDP's reducer keeps the process group alive past destroy_process_group; if it
            # is only collected while the interpreter shuts down, gloo's worker threads die
            # with it and the process aborts ("terminate called without an active
            # exception"). Free it first, then leave the group.
            del trainer
            gc.collect()
            if tdist.is_initialized():
                tdist.destroy_process_group()
    # Training needs autograd even when the caller sits in a no_grad block.
    with torch.enable_grad():
        return _Trainer(opts, dist).run()
