"""Reports: self-contained HTML pages of pictures and numbers (extra ``viz``).

:func:`build_demo_report` is what ``convscope demo`` (and ``make demo``) runs; :class:`Page` is the
small builder it writes with.
"""

from .demo_report import SECTIONS, DemoReport, build_demo_report
from .html import Page, Section

__all__ = ["build_demo_report", "DemoReport", "SECTIONS", "Page", "Section"]
