"""The README shows the sample app's generated entity as it is committed."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_shows_the_current_generated_user_entity() -> None:
    entity = (ROOT / "app" / "entities" / "user.py").read_text(encoding="utf-8")
    assert f"```python\n{entity}```" in (ROOT / "README.md").read_text(encoding="utf-8")
