"""The ids of the client's key bindings: what `[keys]` in `settings.toml` may rebind."""

from __future__ import annotations

from textual.binding import Binding
from textual.dom import DOMNode

import chat_tui.app  # noqa: F401  (every screen and widget, so each class is known)


def binding_ids() -> set[str]:
    """The id of every binding of the app, its screens and its widgets (`chat.jump_1`)."""
    ids: set[str] = set()
    classes: list[type[DOMNode]] = [DOMNode]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if cls.__module__.startswith("chat_tui."):
            for binding in cls.__dict__.get("BINDINGS", []):
                if isinstance(binding, Binding) and binding.id is not None:
                    ids.add(binding.id)
    return ids
