"""The names ``pipeline.py`` imports, kept while it moves to the modules that own them.

The translator (text to text) is :mod:`polynews.translate.translator`; the translate
stage (which articles, which languages, the stored results) is
:mod:`polynews.translate.stage`. New code imports from those; this module goes once
``pipeline.py`` does too.
"""

from __future__ import annotations

from polynews.translate.stage import translate_pending
from polynews.translate.translator import Translator

__all__ = ["Translator", "translate_pending"]
