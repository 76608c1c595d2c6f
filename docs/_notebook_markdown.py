"""Markdown for the text cells of the gallery's notebooks.

sphinx-gallery turns an example's text blocks into notebook cells with its
own reST-to-Markdown conversion, which handles headings, links, notes and
code blocks but leaves Sphinx roles such as ``:class:`~sklearn_ecg.LCDPretrainer```
as they are, unreadable in Jupyter. :func:`install` wraps that conversion so
that a role becomes a Markdown code span of what the HTML page shows
(``LCDPretrainer``); the HTML pages keep their links.
"""

import re

# :role:`~pkg.mod.Name`, :role:`pkg.mod.Name`, :role:`text <target>`
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|obj|exc|doc|ref|term|envvar|program)"
                   r":`([^`]+)`")


def _shown(target):
    """The text Sphinx shows for a role's target."""
    explicit = re.fullmatch(r"(.+?)\s*<[^>]+>", target, flags=re.S)
    if explicit:
        return explicit.group(1)
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]
    return target


def roles_to_markdown(text):
    """Replace every Sphinx role of ``text`` by a Markdown code span of its shown text.

    Examples
    --------
    >>> roles_to_markdown("see :class:`~sklearn_ecg.LCDPretrainer` and :func:`numpy.mean`")
    'see `LCDPretrainer` and `numpy.mean`'
    >>> roles_to_markdown(":doc:`the install page <install>`")
    '`the install page`'
    """
    return _ROLE.sub(lambda m: f"`{_shown(m.group(1))}`", text)


def install():
    """Make sphinx-gallery's notebook conversion drop Sphinx roles first (idempotent)."""
    from sphinx_gallery import notebook

    if getattr(notebook.rst2md, "_drops_roles", False):
        return
    original = notebook.rst2md

    def rst2md(text, *args, **kwargs):
        return original(roles_to_markdown(text), *args, **kwargs)

    rst2md._drops_roles = True
    notebook.rst2md = rst2md
