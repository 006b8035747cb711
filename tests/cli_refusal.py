"""The one way the command-line tests expect a refusal of bad input."""
from __future__ import annotations

from pathlib import Path

from xbragg.cli.main import main


def expect_refusal(argv: list[str], capsys, output: str = "out.bin") -> str:
    """Run the CLI (in the current directory) expecting bad input to be refused: exit 2, one
    ``xbragg: error:`` line on stderr and no traceback, neither ``output`` nor a temporary
    file left behind; returns the message."""
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2, captured
    err = captured.err.strip()
    assert err.startswith("xbragg: error: "), err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err          # one message
    assert not Path(output).exists(), "a failed run must not create the output file"
    assert not any(p.name.startswith(".xbragg-") for p in Path(".").iterdir()), "temporary file left"
    return err
