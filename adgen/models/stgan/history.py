"""The history of fakes the discriminator sees (the official 10,000-slot ring).

Each D batch mixes `mix` old fakes drawn without replacement from the ring with `batch - mix` fresh
ones, and `mix` other fresh ones are written into the ring (the first batch is stored whole and
used as it is), exactly the official `updateHistory`.

A fake composite is fully determined by (background index, background perturbation, foreground
index, final warp parameters): composition is additive, so the final warp alone places the bag.
The ring therefore stores these few numbers instead of 10,000 images, and renders a fake again
when it is drawn. The rendered image is the same one the generator produced, the checkpoint stays
small, and resuming restores the ring exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class FakeRecipes:
    """How to re-render a batch of fakes."""

    bg_index: torch.Tensor  # [B] long
    bg_pert: torch.Tensor  # [B, dim] background perturbation
    fg_index: torch.Tensor  # [B] long
    p: torch.Tensor  # [B, dim] final warp parameters

    def __len__(self) -> int:
        return len(self.bg_index)

    def select(self, idx: torch.Tensor) -> FakeRecipes:
        return FakeRecipes(self.bg_index[idx], self.bg_pert[idx], self.fg_index[idx], self.p[idx])

    @staticmethod
    def cat(parts: list[FakeRecipes]) -> FakeRecipes:
        return FakeRecipes(*(torch.cat([getattr(r, f) for r in parts]) for f in FakeRecipes.fields()))

    @staticmethod
    def fields() -> tuple[str, ...]:
        return ("bg_index", "bg_pert", "fg_index", "p")


class FakeHistory:
    """A ring of `capacity` fake recipes; `mix(new)` returns the batch of recipes D should see."""

    def __init__(self, capacity: int, mix: int, dim: int):
        self.capacity, self.n_mix, self.dim = capacity, mix, dim
        self.store = FakeRecipes(
            torch.zeros(capacity, dtype=torch.long),
            torch.zeros(capacity, dim),
            torch.zeros(capacity, dtype=torch.long),
            torch.zeros(capacity, dim),
        )
        self.filled = 0
        self.cursor = 0
        self.started = False

    def _write(self, recipes: FakeRecipes) -> None:
        slots = (self.cursor + torch.arange(len(recipes))) % self.capacity
        for f in FakeRecipes.fields():
            getattr(self.store, f)[slots] = getattr(recipes, f).detach().to(getattr(self.store, f))
        self.cursor = int((self.cursor + len(recipes)) % self.capacity)
        self.filled = min(self.capacity, self.filled + len(recipes))

    def mix(self, new: FakeRecipes) -> FakeRecipes:
        new = FakeRecipes(*(getattr(new, f).detach().cpu() for f in FakeRecipes.fields()))
        if not self.started:
            self.started = True
            self._write(new)
            return new
        order = torch.randperm(len(new))
        stored, used = order[: self.n_mix], order[self.n_mix :]
        drawn = torch.randperm(self.filled)[: self.n_mix]
        group = FakeRecipes.cat([self.store.select(drawn), new.select(used)])
        self._write(new.select(stored))
        return group

    def state_dict(self) -> dict:
        return {
            "store": {f: getattr(self.store, f).clone() for f in FakeRecipes.fields()},
            "filled": self.filled,
            "cursor": self.cursor,
            "started": self.started,
        }

    def load_state_dict(self, state: dict) -> None:
        self.store = FakeRecipes(*(state["store"][f].clone() for f in FakeRecipes.fields()))
        self.filled, self.cursor, self.started = state["filled"], state["cursor"], state["started"]
