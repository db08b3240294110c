"""benchmarks.data_pipeline runs once at tiny size: preprocessing 1 vs N workers, loader vs training."""

import pytest

from benchmarks import data_pipeline


@pytest.mark.slow
def test_data_pipeline_tiny(tmp_path, study_workdir):
    out = tmp_path / "data.md"
    code = data_pipeline.main(
        [
            # video size 48 = the study benchmarks' synthetic data: the shared work dir generates it once
            "--device",
            "cpu",
            "--actors",
            "3",
            "--video-size",
            "48",
            "--frames",
            "2",
            "--image-size",
            "32",
            "--steps",
            "1",
            "--jobs",
            "2",
            "--loader-workers",
            "0",
            "--repeats",
            "1",
            "--warmup",
            "0",
            "--no-progress",
            "--threads",
            "1",
            "--workdir",
            str(study_workdir),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = out.read_text()
    assert "| 1 worker | 24 |" in text and "| 2 workers | 24 |" in text  # 3 actors x 8 emotions
    loader = next(line for line in text.splitlines() if line.startswith("| loader num_workers=0"))
    assert loader.split(" | ")[1] == "8"  # one pass over the training split: 1 actor of 3 (actor folds)
    assert "| train step (fused) | 8 |" in text
