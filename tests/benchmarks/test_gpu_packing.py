"""benchmarks.gpu_packing runs K packed worker processes in its tiny CPU mode and prints its table."""

import pytest

from benchmarks import gpu_packing


@pytest.mark.slow
def test_gpu_packing_tiny_on_cpu(tmp_path, capsys):
    out = tmp_path / "packing.md"
    assert gpu_packing.main(["--device", "cpu", "--tiny", "--packing", "1,2", "--no-progress", "--out", str(out)]) == 0
    text = out.read_text()
    assert text == capsys.readouterr().out.rstrip("\n") + "\n"
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert [r[0] for r in rows] == ["| 1", "| 2"] and [r[1] for r in rows] == ["1", "2"]  # K workers, 1 trial each
    assert all(float(r[3].replace(",", "")) > 0 for r in rows) and rows[0][4] == "1.00x"
    assert "- command: `python -m benchmarks.gpu_packing --device cpu --tiny" in text


def test_bad_packing_is_refused():
    with pytest.raises(SystemExit, match="--packing: each K must be >= 1"):
        gpu_packing.main(["--device", "cpu", "--packing", "0"])
