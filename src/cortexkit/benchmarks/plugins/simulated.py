"""In-silico V1 and MT recordings with known ground truth: models are scored against the noise-free
rates (``pearson_true``), so a perfect model reaches r = 1 whatever the trial-to-trial noise."""

from cortexkit.benchmarks.definition import BENCHMARKS, Benchmark


@BENCHMARKS.register("sim-v1")
def sim_v1() -> Benchmark:
    """40 simulated V1 simple and complex cells, 1000 natural-image crops (32 px) shown once for
    training, 50 shown 10 times for testing."""
    return Benchmark(
        name="sim-v1",
        description="simulated V1, 20 simple + 20 complex cells, 1000 train / 50 test natural-image crops at 32 px "
                    "(10 repeats); scored against the true rates",
        folder="", format="", simulate="v1",
        recordings={"seed0": {"n_train": 1000, "n_test": 50, "n_repeats": 10, "n_simple": 20, "n_complex": 20,
                              "size": 32, "seed": 0}},
        metric="pearson_true",
        models=("pixel-pca", "gabor", "expansion", "alexnet-conv3", "vgg16-conv4_1", "stacked-v4", "trained-conv2d"),
        citation="cortexkit simulation (Gabor simple/complex cells, Poisson spikes)",
    )


@BENCHMARKS.register("sim-mt")
def sim_mt() -> Benchmark:
    """20 simulated MT direction-selective cells, 600 training and 40 test motion movies (24 px, 12 frames)."""
    return Benchmark(
        name="sim-mt",
        description="simulated MT, 20 direction-selective cells, 600 train / 40 test motion movies (24 px, "
                    "12 frames, 10 repeats); scored against the true rates",
        folder="", format="", simulate="mt", stimulus="movie",
        recordings={"seed0": {"n_train": 600, "n_test": 40, "n_repeats": 10, "n_units": 20, "size": 24, "n_frames": 12,
                              "seed": 0}},
        metric="pearson_true",
        models=("pixel-pca", "motion-energy"),
        citation="cortexkit simulation (motion-energy MT cells with opponency, Poisson spikes)",
    )


# The regions' own units (cortexkit.simulate.fmri.ROI_UNITS): Gabor energy for V1, the untrained
# AlexNet's layers for V2 (conv2), V4 (conv3) and higher (conv5).
_FMRI = {"n_subjects": 2, "n_shared": 100, "n_train": 600, "n_repeats": 3, "size": 64, "seed": 0}


@BENCHMARKS.register("sim-fmri")
def sim_fmri() -> Benchmark:
    """Two simulated NSD-like fMRI subjects (V1, V2, V4 and a higher region; 100 shared test images,
    600 own training images, 3 trials each, z-scored sessions), with the true noise ceilings."""
    return Benchmark(
        name="sim-fmri",
        description="simulated 7T fMRI in NSD's design, 2 subjects x 4 regions of pRF voxels, 600 train / 100 shared "
                    "test images at 64 px (3 trials each); NCSNR noise ceilings",
        folder="", format="", simulate="fmri",
        recordings={f"subj{s:02d}": {**_FMRI, "subjects": [s]} for s in (1, 2)},
        models=("gabor-energy-native", "alexnet-untrained"),
        citation="cortexkit simulation (pRF voxels pooling Gabor-energy and untrained-AlexNet units, NSD design)",
    )


@BENCHMARKS.register("sim-v1-reconstruction")
def sim_v1_reconstruction() -> Benchmark:
    """Simulated V1 (100 simple + 100 complex cells, 16 px): test images decoded from the repeat-averaged
    responses at their own 16 px; 2-way identification by pixel correlation, LPIPS, PSNR beside nulls."""
    return Benchmark(
        name="sim-v1-reconstruction",
        description="simulated V1, 100 simple + 100 complex cells, 800 train / 50 test natural-image crops at 16 px "
                    "(10 repeats): test images reconstructed at 16 px, 2-way identification by pixel correlation",
        folder="", format="", simulate="v1", task="reconstruction", metric="identification", image_size=16,
        recordings={"seed1": {"n_train": 800, "n_test": 50, "n_repeats": 10, "n_simple": 100, "n_complex": 100,
                              "size": 16, "seed": 1}},
        models=("pca-decoder", "retrieval", "cnn-decoder", "diffusion-decoder", "vqldm"),
        compare_to=("pca-decoder", "diffusion-decoder"),
        citation="cortexkit simulation (Gabor simple/complex cells, Poisson spikes)",
    )


@BENCHMARKS.register("sim-v1-video-reconstruction")
def sim_v1_video_reconstruction() -> Benchmark:
    """Simulated V1 watching natural movies (space-time simple and energy cells, 16 px, 8 frames): test clips
    decoded from the repeat-averaged responses; 2-way identification by pixel correlation, temporal r."""
    return Benchmark(
        name="sim-v1-video-reconstruction",
        description="simulated V1 (200 space-time simple + 50 energy cells), 800 train / 50 test natural clips at "
                    "16 px, 8 frames (10 repeats): test clips reconstructed, 2-way identification by pixel correlation",
        folder="", format="", simulate="v1-video", stimulus="movie", task="reconstruction", metric="identification",
        image_size=16, recordings={"seed1": {"n_train": 800, "n_test": 50, "n_repeats": 10, "size": 16, "n_frames": 8,
                                             "seed": 1}},
        models=("pca-decoder", "cnn-decoder", "vqldm"),
        compare_to=("pca-decoder",),
        citation="cortexkit simulation (space-time Gabor simple and energy cells, Poisson spikes)",
    )
