"""Message search: the `search` request's rules.

Who may find what: the messages of the rooms the user is a member of now (not of
rooms left, nor of rooms only asked for), and of the user's own conversations;
`room` or `peer` narrows the search to one of them. The query language is
`chat_srv.store.search` (words, "phrases", prefixes*); the index is the store's.
Results are message objects as `history` shows them, newest first.
"""

from __future__ import annotations

from collections.abc import Callable

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_srv.picture import Client, Picture, logged
from chat_srv.store.base import SearchScope, SearchTooBroad, StoredMessage
from chat_srv.store.search import parse_query


class MessageSearch:
    """The rules of `search`.

    `shown` makes a stored message the object `history` sends (the service's
    `message_object`), so a search result is exactly what history shows of it.
    """

    def __init__(self, picture: Picture, shown: Callable[[StoredMessage], m.Message]) -> None:
        self._picture = picture
        self._store = picture.store
        self._shown = shown

    async def search(self, client: Client, request: m.Search) -> m.Reply:
        """The newest messages the caller can read that match the query."""
        user = logged(client)
        terms = parse_query(request.query)
        if not terms:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "a search needs at least one word (letters or digits)"
            )
        if request.room is not None:
            scope = SearchScope(room_ids=(self._picture._member_room(user, request.room).id,))
        elif request.peer is not None:
            scope = SearchScope(user_id=user.id, peer_id=self._picture._user(request.peer).id)
        else:
            scope = SearchScope(room_ids=tuple(sorted(user.rooms)), user_id=user.id)
        try:
            page, more = await self._store.search(
                terms, scope, before=request.before, limit=request.limit
            )
        except SearchTooBroad as error:
            raise ProtocolError(ErrorCode.BAD_REQUEST, str(error)) from None
        return m.SearchOk(id=request.id, messages=[self._shown(s) for s in page], more=more)
