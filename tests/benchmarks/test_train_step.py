"""benchmarks.train_step runs once at tiny size and prints a ratio table."""

from benchmarks import train_step
from tests.tiny import FRAMES, IMAGE_SIZE

ARGS = ["--device", "cpu", "--frames", str(FRAMES), "--image-size", str(IMAGE_SIZE), "--steps", "1", "--repeats", "1"]
ARGS += ["--warmup", "0", "--no-progress", "--threads", "1"]


def test_train_step_tiny(tmp_path, capsys):
    out = tmp_path / "train.md"
    code = train_step.main(ARGS + ["--presets", "avtca,avtca-code", "--cases", "amp+cl+fused+bs4", "--out", str(out)])
    assert code == 0
    text = out.read_text()
    assert text == capsys.readouterr().out.rstrip("\n") + "\n"
    assert "- command: `python -m benchmarks.train_step --device cpu --frames 2" in text  # reproduces this run
    rows = [line for line in text.splitlines() if line.startswith("| avtca")]
    # the baseline is always added first; each preset has both cases
    assert [r.split(" | ")[1].split()[0] for r in rows] == ["baseline", "amp+cl+fused+bs4"] * 2
    assert all(r.split(" | ")[6] == "1.00x" for r in rows[::2])
    assert rows[1].split(" | ")[2] == "4"  # batch of the bs4 case
