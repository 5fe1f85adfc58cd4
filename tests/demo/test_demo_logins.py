"""The README's demo logins are the ones seed_demo creates and prints."""

import re
from pathlib import Path

from demo.world import LOGINS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_exactly_the_demo_logins():
    table = README.read_text().split("| login | who | sees |")[1].split("\n\n")[0]
    assert re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE) == list(LOGINS)
