"""The `/` filter box of a list screen, one behaviour for every list (runs, inbox, dashboards).

`/` shows the box and focuses it; every change refilters; enter goes back to the list (an empty
enter closes the box); `action_clear_filter` empties and hides it, refilters at once and gives the
list its focus back. Screens say where the box is and what refiltering and "the list" mean; the
match rule itself is `console.widgets.list_keys.text_filter`.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Input


class FilterBox:
    """Mixin for a Screen: set FILTER_INPUT (and FILTER_HOLDER if a container is shown instead
    of the Input itself), implement `refilter` and `focus_list`."""

    FILTER_INPUT = "#filter"
    FILTER_HOLDER: str | None = None

    def refilter(self) -> None:
        raise NotImplementedError

    def focus_list(self) -> None:
        raise NotImplementedError

    @property
    def filter_input(self) -> Input:
        return self.query_one(self.FILTER_INPUT, Input)  # type: ignore[attr-defined]

    def _filter_holder(self) -> Any:
        return self.query_one(self.FILTER_HOLDER) if self.FILTER_HOLDER else self.filter_input  # type: ignore[attr-defined]

    @property
    def filter_open(self) -> bool:
        return self._filter_holder().has_class("shown")

    def action_filter(self) -> None:
        self._filter_holder().add_class("shown")
        self.filter_input.focus()

    def action_clear_filter(self) -> None:
        box = self.filter_input
        had_text = bool(box.value)
        box.value = ""
        self._filter_holder().remove_class("shown")
        if had_text:  # Input.Changed comes later: show the whole list now
            self.refilter()
        self.focus_list()

    def _is_filter(self, event: Any) -> bool:
        return getattr(event.input, "id", None) == self.FILTER_INPUT.lstrip("#")

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._is_filter(event):
            self.refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not self._is_filter(event):
            return
        event.stop()
        if not event.value.strip():
            self.action_clear_filter()
        else:
            self.focus_list()
