"""What a cluster's other nodes tell this one: accounts, rooms, roles, memberships and
presence stored or seen there, applied to this node's picture and told to its own
clients (`chat_srv.cluster.node` calls these). A lone server never calls them.
"""

from __future__ import annotations

from chat_core.messages import Role
from chat_srv.accounts import Accounts
from chat_srv.store.base import MembershipState


class Elsewhere(Accounts):
    """The picture's side of a cluster: changes made on other nodes."""

    def remember_remote_user(self, user_id: int, name: str, role: Role) -> None:
        """An account another node created."""
        if user_id not in self.users_by_id:
            self._remember_user(user_id, name, role)

    def apply_remote_membership(
        self, user_id: int, room_id: int, state: MembershipState | None
    ) -> None:
        """A membership another node stored: in the picture, and to this node's clients."""
        room = self.rooms_by_id.get(room_id)
        known = room is not None and user_id in self.users_by_id
        if known and room is not None and room.members.get(user_id) is not state:
            self.set_membership(user_id, room, state, remote=True)

    def remote_presence(self, node: str, user_ids: set[int], *, whole: bool) -> None:
        """Users who came online on another node (`whole`: the node's every online
        user: the others went offline there); tell this node's clients of those who
        came or went as far as the cluster goes."""
        before = {u for u, nodes in self.online_elsewhere.items() if node in nodes}
        came = user_ids - before
        went = before - user_ids if whole else set()
        for user_id in came:
            self._elsewhere(user_id, node, online=True)
        for user_id in went:
            self._elsewhere(user_id, node, online=False)

    def remote_offline(self, node: str, user_ids: set[int]) -> None:
        """Users whose last connection on another node closed."""
        for user_id in user_ids:
            self._elsewhere(user_id, node, online=False)

    def _elsewhere(self, user_id: int, node: str, *, online: bool) -> None:
        user = self.users_by_id.get(user_id)
        if user is None:
            return
        was = self.is_online(user_id)
        nodes = self.online_elsewhere.setdefault(user_id, set())
        if online:
            nodes.add(node)
        else:
            nodes.discard(node)
            if not nodes:
                del self.online_elsewhere[user_id]
        if self.is_online(user_id) == was:
            return
        if was:
            self.went_offline(user)
        else:
            self._announce_presence(user, online=True)

    async def reload_picture(self) -> None:
        """Catch up with accounts, memberships and sanctions stored while this node
        heard nothing (a sanction missed closes no connection: its logins are refused)."""
        self.sanctions.load(await self.store.active_sanctions(self.clock.now_ms()))
        for room in await self.store.get_rooms():
            if room.id not in self.rooms_by_id:
                self.add_room(room, remote=True)
            self.rooms_by_id[room.id].topic = room.topic
        for record in await self.store.get_users():
            self.remember_remote_user(record.id, record.name, record.role)
            user = self.users_by_id[record.id]
            if user.role is not record.role:
                self.give_role(user, record.role, remote=True)
        stored = {(ms.user_id, ms.room_id): ms.state for ms in await self.store.get_memberships()}
        known = {
            (user_id, room.id): state
            for room in self.rooms_by_id.values()
            for user_id, state in room.members.items()
        }
        for key in known.keys() | stored.keys():
            if known.get(key) is not stored.get(key):
                self.apply_remote_membership(*key, stored.get(key))
