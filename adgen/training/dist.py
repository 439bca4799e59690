"""Device, mixed precision and DDP set-up shared by every trainer.

On a GPU machine `torchrun --nproc_per_node=N -m adgen.cli train <model>` runs DDP (one process per
GPU, NCCL); plain `adgen train` runs one process on CUDA if present, else CPU. AMP is used on CUDA
(bf16 where supported, else fp16 with a GradScaler); CPU runs stay fp32 so tests are exact, unless
a trainer opts into bf16 autocast on a CPU with native bf16 (`cpu_bf16`).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as torch_dist

from adgen.config.base import DEVICE_PATTERN
from adgen.errors import UserError


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    amp_dtype: torch.dtype | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        enabled = self.amp_dtype == torch.float16
        return torch.amp.GradScaler(self.device.type, enabled=enabled)

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        if not self.distributed:
            return module
        ids = [self.local_rank] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def barrier(self) -> None:
        if self.distributed:
            torch_dist.barrier()

    # DDP by hand: the GAN steps (double backward of R1/GP, several optimisers per step, grads
    # averaged only for the network that steps) do not fit DistributedDataParallel's hooks.
    def broadcast_from_main(self, *modules: torch.nn.Module) -> None:
        """Every rank starts from rank 0's weights and buffers."""
        if self.distributed:
            for module in modules:
                for t in module.state_dict().values():
                    torch_dist.broadcast(t, 0)

    def average_gradients(self, *modules: torch.nn.Module, finite: bool = False) -> None:
        """Average the gradients of `modules` over the ranks with one all-reduce. `finite`: replace
        NaN/inf by bounded values (only where no fp16 grad scaler has to see the infs)."""
        params = [p for m in modules for p in m.parameters() if p.grad is not None]
        if not self.distributed or not params:
            return
        flat = torch.cat([p.grad.flatten() for p in params])
        torch_dist.all_reduce(flat)
        flat /= self.world_size
        if finite:
            torch.nan_to_num(flat, nan=0, posinf=1e5, neginf=-1e5, out=flat)
        for p, g in zip(params, flat.split([p.numel() for p in params]), strict=True):
            p.grad.copy_(g.view_as(p))

    def average(self, t: torch.Tensor) -> torch.Tensor:
        """`t` averaged over the ranks (`t` itself without DDP); every rank must call it."""
        if not self.distributed:
            return t
        t = t.detach().clone()
        torch_dist.all_reduce(t)
        return t / self.world_size

    def gather(self, obj: Any) -> list[Any]:
        """`obj` of every rank, in rank order (a list of one without DDP)."""
        if not self.distributed:
            return [obj]
        out: list[Any] = [None] * self.world_size
        torch_dist.all_gather_object(out, obj)
        return out


def resolve_device(name: str, what: str = "device") -> str:
    """The device `name` (params or --device, adgen.config.base.DEVICE_PATTERN) means on this
    machine: `auto` is the GPU when torch sees one. A GPU that is not here is one line for the user
    (`what` names the setting), not torch's error from deep inside loading or the first step."""
    if not re.fullmatch(DEVICE_PATTERN, name):
        raise UserError(f"{what} {name!r}: cpu, cuda, cuda:N or auto")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"{what} {name}: no CUDA device here (torch sees none); use cpu or auto")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise UserError(f"{what} {name}: torch sees {torch.cuda.device_count()} CUDA device(s), 0 to N-1")
    return name


def setup(device: str = "auto", amp: bool = True, cpu_bf16: bool = False) -> Runtime:
    """Pick the device and join the process group when launched by torchrun.

    `amp` is mixed precision on CUDA; `cpu_bf16` is bfloat16 autocast on CPU, refused on CPUs
    that would emulate bf16 (slower than float32 there).
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device)
    if device.startswith("cuda"):  # under torchrun each rank takes its local GPU
        index = local_rank if world_size > 1 or device == "cuda" else int(device.partition(":")[2])
        torch.cuda.set_device(index)
        dev = torch.device("cuda", index)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        dev = torch.device(device)
    if world_size > 1 and not torch_dist.is_initialized():
        torch_dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    amp_dtype = None
    if amp and dev.type == "cuda":
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    elif cpu_bf16 and dev.type == "cpu":
        if not cpu_has_native_bf16():
            raise UserError(
                "cpu_bf16: this CPU has no native bfloat16 (AVX512-BF16 or AMX), where bf16 runs "
                "slower than float32; set cpu_bf16: false"
            )
        amp_dtype = torch.bfloat16
    return Runtime(dev, rank, world_size, local_rank, amp_dtype)


def cpu_has_native_bf16() -> bool:
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def teardown() -> None:
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()
