"""The system Chromium the browser tests drive through Playwright (its own download is not used)."""

import shutil


def system_chromium():
    """The path of the system ``chromium`` (or ``chromium-browser``), or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None
