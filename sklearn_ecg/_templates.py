"""The one parser of ``str.format`` templates (report and class-prompt templates)."""

import string


def template_fields(template, param):
    """Names of the replacement fields of a ``str.format`` template."""
    if not isinstance(template, str):
        raise TypeError(f"{param} must be a string; got {type(template).__name__} ({template!r}).")
    try:
        return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ValueError(
            f"{param}={template!r} is not a valid format string ({exc}); write literal braces "
            "as '{{' and '}}'."
        ) from exc
