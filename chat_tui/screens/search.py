"""The search view: messages that match some words, newest first; Enter goes to one.

The view asks through the `Searcher` it is given (the session's), in a worker, and
shows a page at a time: the last row, `older results…`, asks for the page before.
It closes with the message chosen, and the chat screen opens its room or
conversation around it. Every text is drawn as plain text; the words searched for
are highlighted in the bodies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_core.names import name_key
from chat_tui.render import describe_error, first_line, local_time, name_colour, safe

Searcher = Callable[[str, int | None], Awaitable[tuple[list[m.Message], bool]]]
"""(query, before) -> a page of matches, newest first, and whether older ones match."""

MORE = "more"  # the option id of the row that loads older results
HIGHLIGHT = "bold reverse"
_TERMS = re.compile(r'"([^"]*)"|(\S+)')


def query_terms(query: str) -> list[tuple[str, bool]]:
    """The words and phrases of a query, each with whether it is a prefix (`word*`)."""
    terms = []
    for phrase, word in _TERMS.findall(query):
        text = phrase or word
        prefix = not phrase and text.endswith("*")
        text = text.rstrip("*").strip()
        if text:
            terms.append((text, prefix))
    return terms


def folded(text: str) -> tuple[str, list[int]]:
    """`text` without case or accents (as the server compares words), and for each of
    its characters, the index of the one of `text` it comes from."""
    chars: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text):
        for part in unicodedata.normalize("NFKD", char.casefold()):
            if not unicodedata.combining(part):
                chars.append(part)
                origins.append(index)
    return "".join(chars), origins


def highlighted(body: str, terms: list[tuple[str, bool]]) -> Text:
    """`body` (plain) with every word or phrase of the query in it highlighted, whatever
    their case and accents (`general` in `Général`)."""
    text = Text(body)
    plain_body, origins = folded(body)
    for term, prefix in terms:
        end = r"\w*" if prefix else r"(?!\w)"  # a prefix: the whole word it starts
        pattern = rf"(?<!\w){re.escape(folded(term)[0])}{end}"
        for match in re.finditer(pattern, plain_body):
            if match.end() == match.start():
                continue
            stop = origins[match.end() - 1] + 1
            while stop < len(body) and unicodedata.combining(body[stop]):
                stop += 1  # the accents on the last letter are part of it
            text.stylize(HIGHLIGHT, origins[match.start()], stop)
    return text


def where(message: m.Message, me: str) -> str:
    """`#room`, or `@peer` for a direct message (the other party)."""
    if message.room is not None:
        return "#" + message.room
    mine = name_key(message.sender) == name_key(me)
    return "@" + (message.to if mine and message.to is not None else message.sender)


def result_entry(
    message: m.Message, *, me: str, tz: tzinfo | None, terms: list[tuple[str, bool]]
) -> Group:
    """Two lines: where, when and who; then the first line of the body, the words found
    highlighted."""
    when = local_time(message.ts, tz)
    head = Text.assemble(
        safe(where(message, me), "bold"),
        (f"  {when.day} {when:%b %Y %H:%M}  ", "dim"),
        safe(message.sender, f"bold {name_colour(message.sender)}"),
    )
    body = highlighted(first_line(message.text, 500), terms)
    if message.action:
        body = Text("* ") + body
    return Group(head, Text("  ") + body)


class SearchView(ModalScreen[m.Message | None]):
    """A query line above its results; Enter on a result closes with it.

    Args:
        searcher: Runs a query (a page before a message, or the newest).
        query: The words to search for at once ("" for none yet).
        me: The user's name (the other party of a direct message is shown).
        tz: The time zone of times.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="search.close", tooltip="Back to the chat"),
    ]

    def __init__(self, searcher: Searcher, query: str, *, me: str, tz: tzinfo | None) -> None:
        super().__init__()
        self._searcher = searcher
        self._query = query
        self._me = me
        self._tz = tz
        self.results: list[m.Message] = []
        """The matches shown, newest first."""
        self.more = False
        """Whether older ones match too."""

    def compose(self) -> ComposeResult:
        """The query, the results, a line that says how it went."""
        with Vertical(id="search-box", classes="dialog") as box:
            box.border_title = "Search"
            box.border_subtitle = "Enter goes to it · Tab: query / results · Esc closes"
            yield Input(
                self._query,
                placeholder='words, "a phrase", or the start of a word*',
                id="search-query",
            )
            yield OptionList(id="search-results", markup=False)
            yield Static("", id="search-hint", markup=False)

    def on_mount(self) -> None:
        """Search at once when words were given; otherwise wait for them."""
        field = self.query_one(Input)
        field.cursor_blink = getattr(self.app, "cursor_blink", True)
        field.focus()
        if self._query.strip():
            self._search(self._query, None)

    @on(Input.Submitted, "#search-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self._search(event.value, None)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def _search(self, query: str, before: int | None) -> None:
        hint = self.query_one("#search-hint", Static)
        hint.update("Searching…")
        try:
            found, more = await self._searcher(query.strip(), before)
        except ProtocolError as error:
            hint.update(describe_error(error, self._tz))
            return
        except (ConnectionError, TimeoutError):
            hint.update("Not connected: try again once reconnected.")
            return
        if before is None:
            self._query, self.results = query.strip(), []
        self.results += found
        self.more = more
        self._show(keep=before is not None)

    def _show(self, *, keep: bool) -> None:
        listing = self.query_one(OptionList)
        highlight = listing.highlighted if keep else 0
        terms = query_terms(self._query)
        options = [
            Option(result_entry(msg, me=self._me, tz=self._tz, terms=terms), id=str(msg.msg_id))
            for msg in self.results
        ]
        if self.more:
            options.append(Option(Text("  older results…", style="italic"), id=MORE))
        listing.set_options(options)
        hint = self.query_one("#search-hint", Static)
        if not self.results:
            hint.update("No message matches.")
            return
        count = len(self.results)
        more = " More match: “older results…” brings them." if self.more else ""
        hint.update(f"{count} found, newest first.{more}")
        listing.highlighted = min(highlight or 0, len(options) - 1)
        listing.focus()

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id == MORE:
            self._search(self._query, self.results[-1].msg_id)
            return
        chosen = next((msg for msg in self.results if str(msg.msg_id) == event.option_id), None)
        self.dismiss(chosen)

    def action_close(self) -> None:
        """Back to the chat, going nowhere."""
        self.dismiss(None)
