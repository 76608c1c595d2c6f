"""What the fixture tools share: writing the key-and-shape list of a released network."""

import json


def write_key_shapes(shapes, path):
    """A JSON object of ``tensor name: shape``, one name a line, sorted."""
    lines = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(shapes.items())]
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
