"""MindEye-style decoding: a contrastive MLP into an image-embedding space, a diffusion prior, an
embedding-to-image generator and best-of-N selection by an encoding model.

The parts, in the order :meth:`MindEyeDecoder.fit` trains them:

1. **Embedding space.** Any feature space by name (``gabor`` by default; ``clip`` for CLIP ViT-L/14
   when its weights are installed), reduced by PCA (fitted on the training stimuli and
   natural-image crops) to ``embedding_dim`` dimensions and scaled to unit mean variance.
2. **Backbone.** Each subject has a linear adapter from its units to a shared ``hidden``-wide
   residual MLP (MindEye2's per-subject linear layer into a shared space); two heads follow it: a
   regression head (mean squared error to the embedding) and a projector whose L2-normalised output
   is trained with the symmetric contrastive loss of CLIP against the normalised image embeddings
   of the batch (MindEye's retrieval submodule). Trained with AdamW, dropout on the responses,
   early-stopped on a held-out ``val_fraction`` of the training stimuli.
3. **Diffusion prior.** The regression head's output is shrunk towards the mean and noisy; the
   prior (a DDPM over embeddings, the denoiser of :mod:`~cortexkit.decoding.diffusion`) learns the
   distribution of image embeddings given such an estimate. Its condition during training is
   ``a * z + s * noise`` with the per-dimension slope ``a`` and residual ``s`` of the backbone's
   predictions on the held-out training stimuli, so natural-image crops with no response train it
   too. Sampling is DDIM with classifier-free guidance.
4. **Generator.** A deconvolutional network maps embeddings to pixels (the role of unCLIP / Versatile
   Diffusion in MindEye), trained on the training stimuli and the crops.
5. **Best of N.** Each response gets ``n_candidates`` images: the generator's image of the regressed
   embedding and of ``n_candidates - 1`` prior samples; an encoding model of the subject (Gabor
   energy -> ridge, fitted on the training pairs) predicts the response to each, and the candidate
   whose prediction correlates best with the measured response is the reconstruction.

:meth:`MindEyeDecoder.similarity` gives the contrastive head's cosine similarity to candidate
images (retrieval). Several subjects share one model (:meth:`~MindEyeDecoder.fit_subjects`); a
new subject is added with :meth:`~MindEyeDecoder.align`, which trains only its adapter against the
frozen shared model, so it needs far fewer images than a model of its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from cortexkit.decoding.base import DECODERS, Decoder, check_responses, check_stimuli
from cortexkit.decoding.autoencoder import from_tensor, to_tensor, with_natural_crops
from cortexkit.decoding.cnn import DeconvNet
from cortexkit.decoding.diffusion import Denoiser, ddim, linear_schedule
from cortexkit.decoding.search import EncodingCritic, critic_features, row_correlations
from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.training_loop import TrainSettings, train


class SharedBackbone(nn.Module):
    """Per-subject linear adapters into a shared residual MLP with a regression and a contrastive head."""

    def __init__(self, units: dict[str, int], hidden: int, depth: int, dim: int, dropout: float):
        super().__init__()
        self.hidden, self.dropout = hidden, dropout
        self.adapters = nn.ModuleDict()
        for name, n in units.items():
            self.add_subject(name, n)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(dropout),
                                                  nn.Linear(hidden, hidden)) for _ in range(depth))
        self.norm = nn.LayerNorm(hidden)
        self.regress = nn.Linear(hidden, dim)
        self.project = nn.Sequential(nn.LayerNorm(dim), nn.GELU(), nn.Linear(dim, dim))

    def add_subject(self, name: str, n_units: int) -> None:
        """A new subject's adapter (dropout on its z-scored responses, then a linear map)."""
        self.adapters[name] = nn.Sequential(nn.Dropout(self.dropout), nn.Linear(n_units, self.hidden))

    def forward(self, r: torch.Tensor, subject: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(regressed embedding, unnormalised contrastive projection), each (n, dim)."""
        h = self.adapters[subject](r)
        for block in self.blocks:
            h = h + block(h)
        z = self.regress(self.norm(h))
        return z, self.project(z)


def clip_loss(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE between the rows of ``a`` and ``b`` (pairs on the diagonal), as in CLIP."""
    logits = nn.functional.normalize(a, dim=1) @ nn.functional.normalize(b, dim=1).T / temperature
    target = torch.arange(len(a), device=a.device)
    return 0.5 * (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target))


@DECODERS.register("mindeye")
class MindEyeDecoder(Decoder):
    """Contrastive MLP + diffusion prior + generator + best-of-N, MindEye-style.

    Parameters
    ----------
    embedding : str
        Feature space of the embedding: ``gabor`` (energy and even/odd responses), ``clip`` (CLIP
        ViT-L/14 with OpenAI weights, when installed), or any feature extractor's registry name.
    embedding_dim : int
        PCA dimensions kept of it.
    hidden, depth, dropout : the backbone (shared width, residual blocks, dropout)
    temperature : float
        Of the contrastive loss.
    mse_weight : float
        Weight of the regression loss beside the contrastive one.
    epochs, lr, weight_decay, batch_size, patience, val_fraction : backbone training
    prior_epochs, prior_width, prior_depth, steps, sample_steps, guidance, p_uncond : the diffusion prior
    generator_epochs, generator_width : the embedding-to-image generator
    extra_images : int
        Natural-image crops added to the embedding PCA, the prior and the generator (no responses).
    n_candidates : int
        Images per response for best-of-N (1: the regressed embedding's image only).
    align_epochs : int
        Epochs of a new subject's adapter in :meth:`align`.
    generative : bool
        Train the prior, the generator and the encoding models (False: retrieval only, no
        :meth:`reconstruct`; what :func:`~cortexkit.pipelines.analyses.run_alignment` scores).
    """

    name = "mindeye"

    def __init__(self, embedding="gabor", embedding_dim=64, hidden=512, depth=2, dropout=0.3, temperature=0.05,
                 mse_weight=1.0, epochs=150, lr=1e-3, weight_decay=1e-2, batch_size=128, patience=15, val_fraction=0.1,
                 prior_epochs=200, prior_width=256, prior_depth=3, steps=500, sample_steps=25, guidance=1.5, p_uncond=0.1,
                 generator_epochs=40, generator_width=64, extra_images=2000, n_candidates=8, align_epochs=300, generative=True, seed=0,
                 device="cpu", checkpoint_dir=None, log=None):
        self.embedding = embedding
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.depth = depth
        self.dropout = dropout
        self.temperature = temperature
        self.mse_weight = mse_weight
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.patience = patience
        self.val_fraction = val_fraction
        self.prior_epochs = prior_epochs
        self.prior_width = prior_width
        self.prior_depth = prior_depth
        self.steps = steps
        self.sample_steps = sample_steps
        self.guidance = guidance
        self.p_uncond = p_uncond
        self.generator_epochs = generator_epochs
        self.generator_width = generator_width
        self.extra_images = extra_images
        self.n_candidates = n_candidates
        self.align_epochs = align_epochs
        self.generative = generative
        self.seed = seed
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.log = log

    # -- the embedding space ------------------------------------------------------------------
    def _extractor(self):
        from cortexkit.features import GaborPyramid, get_extractor

        if self.embedding == "gabor":  # phase-invariant energy and the signed even/odd responses
            return GaborPyramid(outputs=("energy", "linear"))
        if self.embedding == "clip":  # MindEye's space: CLIP ViT-L/14 (OpenAI weights, installed offline)
            return get_extractor("open_clip:ViT-L-14", {"weights": "openai"})
        return get_extractor(self.embedding) if isinstance(self.embedding, str) else self.embedding

    def _features(self, images) -> np.ndarray:
        return critic_features(self.extractor_, np.asarray(images, np.float32))

    def _project(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.feature_mean_) @ self.components_.T / self.scale_).astype(np.float32)

    def embed_images(self, images) -> np.ndarray:
        """Embeddings (n, embedding_dim) of images: features, PCA, one global scale."""
        return self._project(self._features(images))

    def _fit_embedding(self, images: np.ndarray) -> np.ndarray:
        """Fit the PCA on the images' features; returns those features (computed once)."""
        self.extractor_ = self._extractor()
        f = self._features(images)
        self.feature_mean_ = f.mean(0)
        k = min(self.embedding_dim, *f.shape)
        _, _, vt = np.linalg.svd(f - self.feature_mean_, full_matrices=False)
        self.components_ = vt[:k].astype(np.float32)
        scores = (f - self.feature_mean_) @ self.components_.T
        self.scale_ = float(np.sqrt(np.mean(scores.var(0)))) or 1.0
        self.dim_ = k
        return f

    def _checkpoint(self, name: str) -> Path | None:
        return Path(self.checkpoint_dir) / f"{name}.pt" if self.checkpoint_dir else None

    # -- fitting ------------------------------------------------------------------------------
    def _fit(self, responses, stimuli):
        self._fit_shared({"subject": (responses, stimuli)})

    def fit_subjects(self, subjects: dict) -> "MindEyeDecoder":
        """One shared model of several subjects: ``{name: (responses (n, units), stimuli (n, y, x[, c]))}``;
        subjects may have different units and different stimuli."""
        if not subjects:
            raise DataError("fit_subjects needs at least one subject")
        checked = {}
        for name, (responses, stimuli) in subjects.items():
            r = check_responses(responses, f"responses of {name}")
            checked[str(name)] = (r, check_stimuli(stimuli, len(r)))
        shapes = {s.shape[1:] for _, s in checked.values()}
        if len(shapes) > 1:
            raise DataError(f"the subjects' stimuli differ in shape: {listed(sorted(shapes))}", variable="stimuli")
        self.stimulus_shape_ = shapes.pop()
        self.n_units_ = len(next(iter(checked.values()))[0][0])
        self._fit_shared(checked)
        return self

    def _fit_shared(self, subjects: dict) -> None:
        from cortexkit.features.base import is_video

        if any(is_video(s) for _, s in subjects.values()):
            raise ConfigError("the mindeye decoder reconstructs images; use pca or cnn for videos")
        if not 0 < self.val_fraction < 0.5:
            raise ConfigError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")
        self.subjects_ = {}
        self.dev_ = torch.device(self.device)
        stimuli = np.concatenate([s for _, s in subjects.values()])
        images = with_natural_crops(stimuli, self.extra_images, self.seed)
        features = self._fit_embedding(images)  # the subjects' stimuli first, in order, then the crops
        z_images = self._project(features)
        bounds = np.cumsum([0] + [len(s) for _, s in subjects.values()])
        parts = {name: slice(a, b) for name, a, b in zip(subjects, bounds[:-1], bounds[1:])}
        torch.manual_seed(self.seed)
        self.net_ = SharedBackbone({}, self.hidden, self.depth, self.dim_, self.dropout).to(self.dev_)
        data = {name: self._subject_data(name, r, z_images[parts[name]]) for name, (r, _) in subjects.items()}
        self._train_backbone(data, frozen=False, epochs=self.epochs, checkpoint=self._checkpoint("backbone"))
        slope, resid = self._calibrate(data)
        if not self.generative:
            return
        self._train_prior(z_images, slope, resid)
        self._train_generator(images, z_images)
        for name, (r, _) in subjects.items():
            self._fit_critic(name, r, features[parts[name]])

    def _subject_data(self, name: str, r: np.ndarray, embeddings: np.ndarray) -> dict:
        """The subject's z-scored responses and embeddings, split into training and validation stimuli."""
        mean, sd = r.mean(0), r.std(0) + 1e-6
        self.subjects_[name] = {"mean": mean, "sd": sd, "n_units": r.shape[1]}
        if name not in self.net_.adapters:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed + 7 + len(self.subjects_))
                self.net_.add_subject(name, r.shape[1])
            self.net_.adapters[name].to(self.dev_)
        order = np.random.default_rng([self.seed, 53, len(r)]).permutation(len(r))
        n_val = max(1, int(round(self.val_fraction * len(r))))
        x = torch.from_numpy((r - mean) / sd).to(self.dev_)
        z = torch.from_numpy(embeddings).to(self.dev_)
        return {"r": x, "z": z, "val": order[:n_val], "train": order[n_val:]}

    def _train_backbone(self, data: dict, *, frozen: bool, epochs: int, checkpoint, lr: float | None = None,
                        description: str | None = None) -> None:
        names = list(data)

        def batches(rng):
            chunks = []
            for k, name in enumerate(names):
                idx = rng.permutation(data[name]["train"])
                chunks += [(k, idx[s:s + self.batch_size]) for s in range(0, len(idx), self.batch_size)]
            for j in rng.permutation(len(chunks)):  # each batch from one subject, subjects interleaved
                k, idx = chunks[j]
                yield names[k], torch.from_numpy(idx).to(self.dev_)

        def loss_fn(model, batch):
            name, idx = batch
            z, p = model(data[name]["r"][idx], name)
            target = data[name]["z"][idx]
            contrastive = clip_loss(p, target, self.temperature) if len(idx) > 1 else z.sum() * 0
            return contrastive + self.mse_weight * nn.functional.mse_loss(z, target)

        def validate(model):
            with torch.no_grad():
                total = 0.0
                for name in names:
                    v = torch.from_numpy(data[name]["val"]).to(self.dev_)
                    z, p = model(data[name]["r"][v], name)
                    target = data[name]["z"][v]
                    total -= float(nn.functional.mse_loss(z, target))
                    if len(v) > 1:
                        total -= float(clip_loss(p, target, self.temperature)) / len(names)
                return total

        for p in self.net_.parameters():
            p.requires_grad_(not frozen)
        if frozen:  # alignment: only the new subject's adapter learns
            for p in self.net_.adapters[names[0]].parameters():
                p.requires_grad_(True)
        settings = TrainSettings(epochs=epochs, lr=self.lr if lr is None else lr, weight_decay=self.weight_decay,
                                 patience=self.patience,
                                 lr_patience=max(1, self.patience // 2), seed=self.seed,
                                 extra={"decoder": "mindeye", "subjects": {n: int(data[n]["r"].shape[1]) for n in names},
                                        "n": {n: len(data[n]["r"]) for n in names}, "frozen": frozen,
                                        "embedding": str(self.embedding), "dim": self.dim_, "hidden": self.hidden,
                                        "depth": self.depth, "dropout": self.dropout, "temperature": self.temperature,
                                        "mse_weight": self.mse_weight, "batch_size": self.batch_size})
        train(self.net_, batches, loss_fn, settings, validate=validate, checkpoint=checkpoint,
              description=description or ("mindeye alignment" if frozen else "mindeye backbone"), log=self.log)
        for p in self.net_.parameters():
            p.requires_grad_(True)
        self.net_.eval()

    @torch.no_grad()
    def _calibrate(self, data: dict) -> tuple[np.ndarray, np.ndarray]:
        """Per-dimension slope and residual of the regressed embedding on held-out training stimuli."""
        self.net_.eval()
        z_hat, z = [], []
        for name, d in data.items():
            v = torch.from_numpy(d["val"]).to(self.dev_)
            z_hat.append(self.net_(d["r"][v], name)[0].cpu().numpy())
            z.append(d["z"][v].cpu().numpy())
        z_hat, z = np.concatenate(z_hat), np.concatenate(z)
        zc = z - z.mean(0)
        slope = np.clip((zc * (z_hat - z_hat.mean(0))).sum(0) / ((zc**2).sum(0) + 1e-9), 0.0, 1.0)
        resid = np.sqrt(((z_hat - slope * z) ** 2).mean(0)) + 1e-3
        self.calibration_ = {"slope": slope.astype(np.float32), "residual": resid.astype(np.float32)}
        return self.calibration_["slope"], self.calibration_["residual"]

    def _train_prior(self, z_images: np.ndarray, slope: np.ndarray, resid: np.ndarray) -> None:
        dev = self.dev_
        self.alpha_bar_ = linear_schedule(self.steps, dev)
        z_all = torch.from_numpy(z_images).to(dev)
        a, s = torch.from_numpy(slope).to(dev), torch.from_numpy(resid).to(dev)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 1)
            self.prior_ = Denoiser(self.dim_, self.dim_, self.prior_width, self.prior_depth, cond_dim=128).to(dev)
        abar = self.alpha_bar_

        def batches(rng):
            order = torch.from_numpy(rng.permutation(len(z_all))).to(dev)
            for k in range(0, len(z_all), 128):
                yield order[k:k + 128]

        def loss_fn(model, idx):
            z0 = z_all[idx]
            cond = a * z0 + s * torch.randn_like(z0)  # what the backbone would give for this image
            t = torch.randint(0, self.steps, (len(idx),), device=dev)
            noise = torch.randn_like(z0)
            ab = abar[t][:, None]
            keep = torch.rand(len(idx), device=dev) >= self.p_uncond
            return ((model(ab.sqrt() * z0 + (1 - ab).sqrt() * noise, t, cond, keep) - noise) ** 2).mean()

        settings = TrainSettings(epochs=self.prior_epochs, lr=1e-3, seed=self.seed,
                                 extra={"n": len(z_all), "dim": self.dim_, "width": self.prior_width,
                                        "depth": self.prior_depth, "steps": self.steps, "p_uncond": self.p_uncond,
                                        "calibration": float(slope.sum() + resid.sum())})
        train(self.prior_, batches, loss_fn, settings, checkpoint=self._checkpoint("prior"),
              description="mindeye diffusion prior", log=self.log)
        self.prior_.eval()

    def _train_generator(self, images: np.ndarray, z_images: np.ndarray) -> None:
        dev = self.dev_
        x, z = to_tensor(images), torch.from_numpy(z_images)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 2)
            self.generator_ = DeconvNet(self.dim_, tuple(x.shape[2:]), x.shape[1], self.generator_width, upsamplings=2,
                                        dropout=0.0).to(dev)

        def batches(rng):
            order = rng.permutation(len(x))
            for k in range(0, len(order), 64):
                b = torch.from_numpy(order[k:k + 64])
                yield z[b].to(dev), x[b].to(dev)

        def loss_fn(model, batch):
            return nn.functional.mse_loss(model(batch[0]), batch[1])

        settings = TrainSettings(epochs=self.generator_epochs, lr=2e-3, seed=self.seed,
                                 extra={"n": len(x), "dim": self.dim_, "width": self.generator_width,
                                        "embedding": float(np.abs(z_images).sum())})
        train(self.generator_, batches, loss_fn, settings, checkpoint=self._checkpoint("generator"),
              description="mindeye generator", log=self.log)
        self.generator_.eval()

    def _fit_critic(self, name: str, responses: np.ndarray, features: np.ndarray) -> None:
        if self.generative and self.n_candidates > 1:  # an encoding model on the embedding's own feature space
            self.subjects_[name]["critic"] = EncodingCritic.from_features(self.extractor_, features, responses)

    def align(self, subject: str, responses, stimuli) -> "MindEyeDecoder":
        """Add a subject to a fitted model: train only its linear adapter into the frozen shared
        backbone (MindEye2's alignment of a new subject), and its encoding model for best-of-N."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "net_")
        r = check_responses(responses, f"responses of {subject}")
        s = check_stimuli(stimuli, len(r))
        if s.shape[1:] != tuple(self.stimulus_shape_):
            raise DataError(f"stimuli have shape {s.shape[1:]}; the model was fitted on {tuple(self.stimulus_shape_)}",
                            variable="stimuli")
        if subject in self.subjects_:
            raise ConfigError(f"subject {subject!r} is already in the model")
        features = self._features(s)
        data = {subject: self._subject_data(subject, r, self._project(features))}
        self._train_backbone(data, frozen=True, epochs=self.align_epochs, checkpoint=self._checkpoint(f"adapter_{subject}"))
        self._fit_critic(subject, r, features)
        return self

    def finetune(self, subject: str, responses, stimuli, epochs: int = 100, lr_scale: float = 0.3) -> "MindEyeDecoder":
        """MindEye2's second step for a new subject: after :meth:`align`, train the whole backbone on
        the subject's data at ``lr_scale`` of the learning rate. This changes the model shared with the
        other subjects: fine-tune a copy (``copy.deepcopy``) to keep theirs."""
        if subject not in getattr(self, "subjects_", {}):
            raise ConfigError(f"align subject {subject!r} first; the model has {sorted(getattr(self, 'subjects_', {}))}")
        r = check_responses(responses, f"responses of {subject}")
        s = check_stimuli(stimuli, len(r))
        if r.shape[1] != self.subjects_[subject]["n_units"]:
            raise DataError(f"has {r.shape[1]} units; subject {subject!r} has {self.subjects_[subject]['n_units']}",
                            variable="responses")
        info = self.subjects_[subject]
        data = {subject: self._subject_data(subject, r, self.embed_images(s))}
        self.subjects_[subject] = {**info, **self.subjects_[subject]}  # keeps the encoding model of align()
        self._train_backbone(data, frozen=False, epochs=int(epochs), checkpoint=self._checkpoint(f"finetune_{subject}"),
                             lr=self.lr * float(lr_scale), description="mindeye fine-tuning")
        return self

    # -- decoding -----------------------------------------------------------------------------
    def _subject(self, responses, subject: str | None) -> tuple[str, torch.Tensor]:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "net_")
        name = subject if subject is not None else next(iter(self.subjects_))
        if name not in self.subjects_:
            raise ConfigError(f"no subject {name!r} in the model; it has {listed(sorted(self.subjects_))}")
        info = self.subjects_[name]
        r = check_responses(responses)
        if r.shape[1] != info["n_units"]:
            raise DataError(f"has {r.shape[1]} units; subject {name!r} has {info['n_units']}", variable="responses")
        return name, torch.from_numpy((r - info["mean"]) / info["sd"]).to(self.dev_)

    @torch.no_grad()
    def predict_embedding(self, responses, subject: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(regressed embeddings, contrastive projections), each (n, embedding_dim)."""
        name, r = self._subject(responses, subject)
        z, p = self.net_(r, name)
        return z.cpu().numpy(), p.cpu().numpy()

    def set_candidates(self, images) -> "MindEyeDecoder":
        """The images (m, y, x[, channel]) :meth:`similarity` retrieves among (e.g. the test set)."""
        self.pool_ = np.asarray(images, np.float32)
        self.pool_embeddings_ = self.embed_images(self.pool_)
        return self

    def similarity(self, responses, subject: str | None = None) -> np.ndarray:
        """Cosine similarity of each response's contrastive projection with each candidate's
        embedding: (n_responses, n_candidates)."""
        p = self.predict_embedding(responses, subject)[1]
        if not hasattr(self, "pool_embeddings_"):
            raise ConfigError("set_candidates(images) first: the images to retrieve among")
        p = p / (np.linalg.norm(p, axis=1, keepdims=True) + 1e-12)
        c = self.pool_embeddings_ / (np.linalg.norm(self.pool_embeddings_, axis=1, keepdims=True) + 1e-12)
        return p @ c.T

    @torch.no_grad()
    def sample_embeddings(self, responses, n_samples: int, subject: str | None = None, seed: int = 0) -> np.ndarray:
        """Diffusion-prior samples (n, n_samples, embedding_dim) given each response's regressed embedding."""
        z_hat = torch.from_numpy(self.predict_embedding(responses, subject)[0]).to(self.dev_)
        cond = z_hat.repeat_interleave(n_samples, 0)
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(len(cond), self.dim_, generator=g).to(self.dev_)

        def eps(x, t):
            tt = torch.full((len(x),), int(t), device=x.device)
            c = self.prior_(x, tt, cond)
            return c if self.guidance == 1.0 else self.prior_(x, tt, None) + self.guidance * (c - self.prior_(x, tt, None))

        z = ddim(eps, z, self.alpha_bar_, self.steps - 1, self.sample_steps)
        return z.reshape(len(z_hat), n_samples, -1).cpu().numpy()

    @torch.no_grad()
    def generate(self, embeddings) -> np.ndarray:
        """Images (n, y, x[, channel]) from embeddings (n, embedding_dim)."""
        z = torch.from_numpy(np.asarray(embeddings, np.float32)).to(self.dev_)
        out = torch.cat([self.generator_(z[k:k + 256]) for k in range(0, len(z), 256)]).cpu()
        return from_tensor(out, gray=len(self.stimulus_shape_) == 2)

    def reconstruct(self, responses, subject: str | None = None) -> np.ndarray:
        """Best-of-N images (n, y, x[, channel]); ``scores_`` holds the chosen candidates' critic scores."""
        name, _ = self._subject(responses, subject)
        if not self.generative:
            raise ConfigError("this mindeye model was fitted with generative: false (retrieval only); fit it with "
                              "generative: true to reconstruct")
        r = check_responses(responses)
        z_hat = self.predict_embedding(r, name)[0]
        if self.n_candidates <= 1:
            return np.clip(self.generate(z_hat), 0, 1).astype(np.float32)
        samples = self.sample_embeddings(r, self.n_candidates - 1, name, seed=self.seed)
        candidates = np.concatenate([z_hat[:, None], samples], axis=1)  # (n, N, dim): the estimate first
        n, c = candidates.shape[:2]
        images = self.generate(candidates.reshape(n * c, -1))
        predicted = self.subjects_[name]["critic"].predict(images).reshape(n, c, -1)
        scores = row_correlations(predicted, r[:, None, :])
        best = np.argmax(scores, axis=1)
        self.scores_ = scores[np.arange(n), best]
        images = images.reshape(n, c, *images.shape[1:])[np.arange(n), best]
        return np.clip(images, 0, 1).astype(np.float32)


class SubjectView:
    """One subject of a shared :class:`MindEyeDecoder`, with the decoder interface of a single-subject
    model (``reconstruct``, ``set_candidates``, ``similarity``); ``fingerprint`` names the shared fit."""

    def __init__(self, model: MindEyeDecoder, subject: str, fingerprint: str = "shared"):
        self.model, self.subject, self.fingerprint = model, subject, fingerprint

    def reconstruct(self, responses) -> np.ndarray:
        """Best-of-N images of the subject's responses (:meth:`MindEyeDecoder.reconstruct`)."""
        return self.model.reconstruct(responses, self.subject)

    def set_candidates(self, images) -> "SubjectView":
        """The images :meth:`similarity` retrieves among."""
        self.model.set_candidates(images)
        return self

    def similarity(self, responses) -> np.ndarray:
        """Contrastive similarity of the subject's responses with each candidate image."""
        return self.model.similarity(responses, self.subject)
