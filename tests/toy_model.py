"""A toy model declared and registered from outside the package (tests/test_toy_model.py): one tiny label-conditioned
generator G(x, l) and a conditional patch critic D, trained by a least-squares GAN step plus an L1 pull towards x.
It is here only to prove that decgan's loop, checkpoints, evaluation and figures need nothing but `ModelSpec`.

As a script: `python tests/toy_model.py OUT DATA STEPS [--resume] [--sigterm-at N]` registers the toy and trains it
with `decgan.train.train`; `--sigterm-at N` sends this process a real SIGTERM from inside step N."""
from __future__ import annotations

import os
import signal
import sys

import torch
import torch.nn.functional as F
from torch import nn

from decgan.core import Config
from decgan.interface import ModelSpec, StepEnv, Trainer, adam
from decgan.models import as_label_vector, concat_label


class ToyNet(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        k, c = cfg.n_expressions, cfg.channels
        self.n_expressions = k
        self.G = nn.Sequential(nn.Conv2d(c + k, 8, 3, 1, 1), nn.ReLU(), nn.Conv2d(8, c, 3, 1, 1), nn.Tanh())
        self.D = nn.Sequential(nn.Conv2d(c + k, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 3, 1, 1))

    def translate(self, x: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        return self.G(concat_label(x, as_label_vector(l, self.n_expressions)))

    def critic(self, x: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        return self.D(concat_label(x, as_label_vector(l, self.n_expressions)))


class ToyTrainer(Trainer):
    def __init__(self, net: ToyNet, opts: dict, cfg: Config, env: StepEnv):
        self.net, self.opts, self.env = env.view(net, ("G", "D")), opts, env
        self.sigterm_at = int(os.environ.get("TOY_SIGTERM_AT", "-1"))

    def step(self, batch: dict, i: int) -> dict[str, torch.Tensor]:
        if i == self.sigterm_at: os.kill(os.getpid(), signal.SIGTERM)   # as a scheduler would, mid-run
        x, y, t = batch["x"], batch["y"], batch["t"]
        noise = torch.rand(x.shape[0], generator=self.env.sampler, device=x.device)   # a random stream of the run's
        with self.env.autocast():
            fake = self.net.translate(x, t)
            real_s, fake_s = self.net.critic(x, y).float(), self.net.critic(fake.detach(), t).float()
            d_loss = ((real_s - 1) ** 2).mean() + (fake_s ** 2).mean()
        self.opts["D"].zero_grad(set_to_none=True); d_loss.backward(); self.opts["D"].step()
        with self.env.autocast():
            g_loss = ((self.net.critic(fake, t).float() - 1) ** 2).mean() + F.l1_loss(fake.float(), x.float()) * (1 + noise.mean())
        self.opts["G"].zero_grad(set_to_none=True); g_loss.backward(); self.opts["G"].step()
        return {"toy/d": d_loss.detach(), "toy/g": g_loss.detach()}


TOY_SPEC = ModelSpec(
    name="toy", title="Toy", build=ToyNet,
    optimizers=lambda net, cfg: {"G": adam(net.G.parameters(), cfg), "D": adam(net.D.parameters(), cfg)},
    trainer=ToyTrainer,
    probe_loss=lambda net, batch, cfg: net.translate(batch["x"], batch["t"]).float().mean(),
    averaged=("G",), progress={"toy/g": "G", "toy/d": "D"}, log_keys=("toy/d", "toy/g"),
    summary="a two-layer conditional generator: the interface's proof")


def register_toy() -> ModelSpec:
    from decgan.registry import REGISTRY, register
    return REGISTRY.get("toy") or register(TOY_SPEC)


def toy_config(out, data, steps: int, **kw) -> Config:
    return Config.preset_of("demo", model="toy", data_root=str(data), out_dir=str(out), steps=steps, batch_size=4,
                            log_every=2, sample_every=4, ckpt_every=4, precision="fp32", ema_beta=0.9, **kw)


if __name__ == "__main__":
    register_toy()
    from decgan.train import train
    out, data, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rest = sys.argv[4:]
    if "--sigterm-at" in rest: os.environ["TOY_SIGTERM_AT"] = rest[rest.index("--sigterm-at") + 1]
    train(toy_config(out, data, steps, resume="--resume" in rest), synth_subjects=4)
