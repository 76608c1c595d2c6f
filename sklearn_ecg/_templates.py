"""The one parser of ``str.format`` templates (report and class-prompt templates), and the class prompts' filler."""

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


_FIELDS = ("", "0", "name")


def render_class_prompt(template, description):
    """Fill a class-prompt template; ``{}``, ``{0}`` and ``{name}`` are the description."""
    fields = template_fields(template, "template")
    unknown = sorted({f for f in fields if f not in _FIELDS})
    if unknown or not fields:
        raise ValueError(
            f"template={template!r} must name the class with the placeholder {{}} (or {{name}}) "
            f"and use no other; found {', '.join('{' + f + '}' for f in fields) or 'none'}. "
            "E.g. 'The ECG of {}, a type of diagnostic.'"
        )
    return template.format(*[description] * fields.count(""), name=description)
